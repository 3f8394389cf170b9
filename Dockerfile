# Build a static binary, then run it on distroless as a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/keranjang ./cmd/keranjang \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/keranjang /usr/local/bin/keranjang
# The database directory must belong to the nonroot user (uid 65532) before it becomes a volume.
COPY --from=build --chown=65532:65532 /out/data /data
ENV KERANJANG_DB=/data/keranjang.db \
    KERANJANG_HTTP_ADDR=:8080
VOLUME ["/data"]
EXPOSE 8080
USER nonroot:nonroot
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/keranjang", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/keranjang"]
CMD ["serve"]
