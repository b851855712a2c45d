# recd container image: build on Debian 12, run on debian:bookworm-slim.
#   docker build -t recd .
#   docker run --rm -p 50051:50051 -p 9464:9464 -v recd-data:/var/lib/recd recd
# The default config (config/recd.yaml) seeds a demo catalog on an empty data
# dir; mount your own at /etc/recd/recd.yaml for production (see deploy/).

# ---------------------------------------------------------------------------
# build stage
# ---------------------------------------------------------------------------
FROM debian:bookworm AS build

ENV DEBIAN_FRONTEND=noninteractive \
    CCACHE_DISABLE=1

WORKDIR /src

# The one package list (scripts/packages.txt), installed first so this layer
# stays cached while the sources change.
COPY scripts/packages.txt scripts/install-deps.sh scripts/
RUN bash scripts/install-deps.sh \
 && rm -rf /var/lib/apt/lists/*

COPY . .

RUN cmake -S . -B /build -G Ninja \
      -DCMAKE_BUILD_TYPE=Release \
      -DRECD_BUILD_TESTS=OFF \
 && cmake --build /build --target recd \
 && install -D -m 0755 /build/server/recd /out/recd \
 && strip --strip-unneeded /out/recd

# ---------------------------------------------------------------------------
# runtime stage: shared libraries only (the non -dev counterparts of the
# build packages; their own dependencies, e.g. RocksDB's compression libraries,
# civetweb, c-ares, re2, OpenSSL, come in through apt)
# ---------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgrpc++1.51 \
      libgrpc29 \
      libprotobuf32 \
      libabsl20220623 \
      librocksdb7.8 \
      libspdlog1.10 \
      libfmt9 \
      libprometheus-cpp-core1.0 \
      libprometheus-cpp-pull1.0 \
      libyaml-cpp0.7 \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 recd \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /var/lib/recd --shell /usr/sbin/nologin recd \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/recd \
 && install -d -m 0755 /etc/recd

COPY --from=build /out/recd /usr/local/bin/recd
COPY config/recd.yaml /etc/recd/recd.yaml

# Fail the build here, not at `docker run`, if a shared library is missing.
RUN if ldd /usr/local/bin/recd | grep -F 'not found'; then \
      echo "recd: missing shared libraries in the runtime image" >&2; exit 1; \
    fi

USER 10001:10001
WORKDIR /var/lib/recd
VOLUME ["/var/lib/recd"]

# 50051: gRPC (recd.v1.Recommender, recd.v1.Catalog, grpc.health.v1.Health,
#        reflection); 9464: Prometheus text at /metrics
EXPOSE 50051 9464

# recd handles SIGTERM itself (graceful drain, then exit 0) as PID 1.
STOPSIGNAL SIGTERM
ENTRYPOINT ["recd"]
CMD ["serve", "--config", "/etc/recd/recd.yaml", "--data-dir", "/var/lib/recd", "--listen", "0.0.0.0:50051", "--metrics-listen", "0.0.0.0:9464"]
