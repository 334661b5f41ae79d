# Shade as a container; docker-compose.yml runs it next to a current ClickHouse.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /shade ./cmd/shade

FROM debian:bookworm-slim
RUN useradd --system --home /var/lib/shade --create-home shade
COPY --from=build /shade /usr/local/bin/shade
USER shade
WORKDIR /var/lib/shade
ENV SHADE_LISTEN=0.0.0.0:8080 SHADE_DATA_DIR=/var/lib/shade
EXPOSE 8080
ENTRYPOINT ["shade"]
CMD ["serve"]
