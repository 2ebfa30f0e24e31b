# The atlaas binary in a small image. Built by docker-compose.yml; see README.md.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/atlaas ./cmd/atlaas

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /var/lib/atlaas atlaas \
    && mkdir -p /var/lib/atlaas && chown atlaas /var/lib/atlaas
COPY --from=build /out/atlaas /usr/local/bin/atlaas
USER atlaas
WORKDIR /var/lib/atlaas
ENV ATLAAS_ADDR=0.0.0.0:8080 ATLAAS_INDEX_DIR=/var/lib/atlaas/index ATLAAS_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["atlaas"]
CMD ["serve"]
