# Defender Gateway: a static binary on a distroless, non-root runtime.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/defender-gateway ./cmd/server

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/defender-gateway /defender-gateway
USER nonroot:nonroot
# gRPC and REST/HTTP.
EXPOSE 50051 8080
HEALTHCHECK --interval=15s --timeout=3s --retries=3 CMD ["/defender-gateway", "healthcheck"]
ENTRYPOINT ["/defender-gateway"]
