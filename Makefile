# Koyomi — make help lists the targets.
SHELL := /bin/bash
GO ?= go
BIN := bin/koyomi

.PHONY: help build run test generate fmt vet
help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ## build bin/koyomi
	$(GO) build -o $(BIN) ./cmd/koyomi

test: ## run the whole test suite (installs and starts what it needs)
	$(GO) vet ./...
	$(GO) test -count=1 ./...
