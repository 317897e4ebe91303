# The node image: one static binary (the FEAGI genomes of genomes/ are
# embedded in it), run as a non-root user on a distroless base with no shell.
#
#   docker build -t spikemesh/node:dev .
#   docker build --build-arg REVISION=$(git rev-parse HEAD) -t spikemesh/node:dev .
#
# docs/kubernetes.md shows how to load the image into kind, k3d or minikube.

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so that a change of the sources reuses this layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static (no cgo), without the build machine's paths. .dockerignore leaves
# .git out of the context, so -buildvcs=false: the revision goes into the
# image label below instead.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/node ./cmd/node \
 && /out/node help >/dev/null

FROM gcr.io/distroless/static-debian12:nonroot
ARG REVISION=unknown
LABEL org.opencontainers.image.title="spikemesh node" \
      org.opencontainers.image.source="https://github.com/spikemesh/spikemesh" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/node /node
# 65532 is distroless' nonroot user; the Kubernetes manifests run as it too.
USER 65532:65532
# HTTP (health, metrics, API, live view), NATS clients, NATS routes, membership.
EXPOSE 8080 4222 6222 7946 7946/udp
ENTRYPOINT ["/node"]
CMD ["run"]
