# Koyomi — `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
BIN := bin/koyomi
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
K8S_BINS ?= $(CURDIR)/.cache/k8s-v1.37.2
export KOYOMI_K8S_BINS ?= $(K8S_BINS)
ARTIFACTS ?= $(CURDIR)/artifacts
export KOYOMI_ARTIFACTS ?= $(ARTIFACTS)

.PHONY: help build run test test-go deps k8s-bins generate check-generated assets fmt vet bench clean

help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

build: ## build bin/koyomi
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/koyomi

run: build ## build and start the server on http://127.0.0.1:8080 with the embedded SQLite database in ./var
	./$(BIN) serve

generate: ## regenerate templ components (views/**/*_templ.go)
	$(GO) tool templ generate -path views

check-generated: ## fail when committed generated files are stale
	$(GO) tool templ generate -path views >/dev/null
	@git diff --exit-code -- 'views/*_templ.go' 'views/**/*_templ.go' || { echo "generated templ files are stale: run make generate and commit" >&2; exit 1; }

assets: ## copy front-end packages from npm into static/vendor (needs npm)
	npm ci --no-audit --no-fund
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js

fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go' | grep -v '_templ.go$$')

vet: ## go vet and a gofmt check
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$')); [ -z "$$out" ] || { echo "gofmt needed: $$out" >&2; exit 1; }
	$(GO) vet ./...

deps: ## install what the tests need on a fresh Debian machine (chromium, Japanese fonts, PostgreSQL 15)
	@need=""; \
	[ -x /usr/bin/chromium ] || need="$$need chromium"; \
	fc-list 2>/dev/null | grep -qi ipagothic || need="$$need fonts-ipafont-gothic"; \
	[ -x /usr/lib/postgresql/15/bin/initdb ] || need="$$need postgresql-15"; \
	if [ -n "$$need" ]; then \
		echo "installing:$$need"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$need >/dev/null; \
	fi

k8s-bins: ## build the Kubernetes control plane for the EKS tests into .cache/ (once; ~10 min)
	NICE= hack/k8s/build.sh

test: deps k8s-bins check-generated vet ## run the whole test suite (installs and starts what it needs)
	@set -e; eval "$$(hack/pg.sh start)"; trap 'hack/pg.sh stop $$KOYOMI_TEST_PGDIR' EXIT; \
	echo "PostgreSQL for tests: $$KOYOMI_TEST_POSTGRES_URL"; \
	$(GO) test -p 2 -count=1 -timeout 40m ./...

bench: build ## run the benchmarks, then local jobs end to end with bin/koyomi on SQLite and durable PostgreSQL (docs/bench.md)
	@set -e; eval "$$(hack/pg.sh start)"; trap 'hack/pg.sh stop $$KOYOMI_TEST_PGDIR' EXIT; \
	$(GO) test -run '^$$' -bench . -benchmem ./internal/calendar/ ./internal/plan/ ./internal/jobrun/ ./internal/runner/ ./internal/dispatch/local/ ./internal/forecast/
	@set -e; eval "$$(hack/pg.sh start --durable)"; trap 'hack/pg.sh stop $$KOYOMI_TEST_PGDIR' EXIT; \
	$(GO) run ./hack/bench --bin $(BIN) --postgres "$$KOYOMI_TEST_POSTGRES_URL" $(BENCH_FLAGS)

clean: ## remove build outputs (keeps .cache and var)
	rm -rf bin artifacts
