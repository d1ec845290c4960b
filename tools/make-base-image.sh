#!/usr/bin/env bash
# Makes the base image debian:bookworm-slim locally when it is not already present, for
# machines that cannot pull from an image registry. Idempotent: an existing image is kept.
#   tools/make-base-image.sh            (root; needs debootstrap and a running Docker engine)
# The image is a minbase debootstrap of bookworm from this machine's own Debian mirror (read
# from its apt configuration at run time), imported under the official name so the same
# Dockerfiles work unchanged where the official image can be pulled. Files that name the
# mirror are removed, so no host name ends up in the image.
set -euo pipefail
image=${BASE_IMAGE:-debian:bookworm-slim}

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "make-base-image: $image already present"
  exit 0
fi
command -v debootstrap >/dev/null 2>&1 || {
  echo "make-base-image: debootstrap is missing: apt-get install debootstrap" >&2
  exit 1
}

mirror=${MIRROR:-}
[ -n "$mirror" ] || mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || {
  echo "make-base-image: no Debian mirror in the apt config; set MIRROR=<Debian mirror URL>" >&2
  exit 1
}

dir=$(mktemp -d /tmp/attnserve-base.XXXXXX)
trap 'rm -rf "$dir"' EXIT
echo "make-base-image: debootstrap --variant=minbase bookworm (about a minute)"
timeout 900 debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$dir.log" 2>&1 || {
  tail -20 "$dir.log" >&2
  rm -f "$dir.log"
  echo "make-base-image: debootstrap failed" >&2
  exit 1
}
rm -f "$dir.log"

# Whatever names the mirror goes; apt lists, caches and docs are rebuilt or unneeded.
rm -f "$dir/etc/apt/sources.list" "$dir/var/log/bootstrap.log"
rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/* "$dir"/var/cache/debconf/*-old \
  "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* \
  "$dir"/usr/share/locale/* "$dir"/tmp/*
# As in the official slim image: packages installed later skip docs, man pages and translations
# (copyright files stay), and apt keeps no .debs, recommends or translated indexes.
cat >"$dir/etc/dpkg/dpkg.cfg.d/docker-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
CFG
cat >"$dir/etc/apt/apt.conf.d/docker-slim" <<'CFG'
APT::Install-Recommends "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
CFG
mkdir -p "$dir/var/lib/apt/lists/partial" "$dir/var/cache/apt/archives/partial"
if grep -rqsF "$(printf '%s' "$mirror" | sed 's#^[a-z]*://##; s#/.*##')" \
    "$dir/etc" "$dir/var/lib/apt" "$dir/var/log"; then
  echo "make-base-image: the mirror's host name is still in the tree:" >&2
  grep -rlsF "$(printf '%s' "$mirror" | sed 's#^[a-z]*://##; s#/.*##')" \
    "$dir/etc" "$dir/var/lib/apt" "$dir/var/log" >&2
  exit 1
fi

tar -C "$dir" -c . | docker import -c 'CMD ["bash"]' - "$image" >/dev/null
echo "make-base-image: imported $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
