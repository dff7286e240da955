# syntax=docker/dockerfile:1
# polypay: a small, non-root image of the single polypay binary.
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) \
#                --build-arg COMMIT=$(git rev-parse --short HEAD) -t polypay .
#
# (make image does exactly this.)

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
# Pure Go (the SQLite driver is modernc.org/sqlite): a static binary that
# needs no libc in the final image. -trimpath keeps build paths out of it.
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/polypay ./cmd/polypay

FROM alpine:3.22
# ca-certificates: live channels are reached over TLS. tzdata: time zones
# for logs; the statement days use fixed zones and do not need it.
# wget (busybox) serves the HEALTHCHECK.
RUN apk add --no-cache ca-certificates tzdata \
 && addgroup -S -g 10001 polypay \
 && adduser -S -D -H -u 10001 -G polypay -h /var/lib/polypay polypay \
 && install -d -o polypay -g polypay -m 0700 /var/lib/polypay /var/lib/polypay/keys
COPY --from=build /out/polypay /usr/local/bin/polypay
USER polypay:polypay
WORKDIR /var/lib/polypay
# The embedded database, master.key and vault.keys live here unless
# --database, --master-key-file and --vault-keys-file put them elsewhere.
VOLUME ["/var/lib/polypay"]
# 8080: the API, cashier, console and /notify (put a TLS proxy in front).
# 9464: /metrics and pprof (--admin-addr): keep it off the public network.
EXPOSE 8080 9464
# /readyz checks the store and fails while the node shuts down.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD wget -q -O /dev/null http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["/usr/local/bin/polypay"]
CMD ["serve", "--addr", "0.0.0.0:8080", "--admin-addr", "0.0.0.0:9464", "--data", "/var/lib/polypay"]
