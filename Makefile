# polypay builds. The version is stamped from git at build time:
#   make build    ./polypay with version and commit (polypay --version)
#   make image    the Docker image polypay:$(VERSION), same stamp
#   make test     the CI script (.ci/run)

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
IMAGE   ?= polypay

.PHONY: build image test version

build:
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o polypay ./cmd/polypay

image:
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMAGE):$(VERSION) -t $(IMAGE):latest .

test:
	.ci/run

version:
	@echo $(VERSION) $(COMMIT)
