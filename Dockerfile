# The node image: one static binary with the genomes embedded.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/node ./cmd/node

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/node /node
USER nonroot:nonroot
ENTRYPOINT ["/node"]
