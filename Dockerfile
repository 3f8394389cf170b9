# Build a static binary, then run it on distroless as a non-root user.
#   docker build --build-arg VERSION=$(git describe --always --dirty) \
#                --build-arg REVISION=$(git rev-parse HEAD) -t keranjang .
FROM docker.io/library/golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=
# .git is not in the build context (.dockerignore), so the version comes from the build arguments.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" \
      -o /out/keranjang ./cmd/keranjang \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG REVISION=
LABEL org.opencontainers.image.title="keranjang" \
      org.opencontainers.image.description="Keranjang: a Telegram affiliate bot with tracked basket links, seller APIs and daily digests" \
      org.opencontainers.image.source="https://github.com/keranjang/keranjang" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/keranjang /usr/local/bin/keranjang
# The database directory must belong to the nonroot user (uid 65532) before it becomes a volume.
COPY --from=build --chown=65532:65532 /out/data /data
# /metrics stays on the container's own 127.0.0.1:9464 unless KERANJANG_METRICS_ADDR=:9464 is set and the
# port is published to the host only (-p 127.0.0.1:9464:9464).
ENV KERANJANG_DB=/data/keranjang.db \
    KERANJANG_HTTP_ADDR=:8080
VOLUME ["/data"]
EXPOSE 8080
USER nonroot:nonroot
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/keranjang", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/keranjang"]
CMD ["serve"]
