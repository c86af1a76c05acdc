# icpmon: build, run and test. `make run` and `make test` are the README's quick start.
GO        ?= go
BIN       := bin/icpmon
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
VPKG      := github.com/prometheus/common/version
LDFLAGS   := -X $(VPKG).Version=$(VERSION) -X $(VPKG).Revision=$(REVISION) -X $(VPKG).Branch=$(BRANCH)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
CONFIG    ?= deploy/icpmon.yml

.PHONY: all build run test deps lint unit bench bench-deps clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/icpmon

# Runs the daemon with the example configuration; when no Redis answers on
# this machine, deploy/try.sh starts a private one (AOF under var/redis).
run: build
	bash deploy/try.sh ./$(BIN) $(CONFIG)

# Everything CI checks, after installing what the tests need.
test: deps lint unit

deps:
	bash .ci/install-deps

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

unit:
	$(GO) test -race -timeout 30m ./...

# Every figure of BENCHMARKS.md, in one run (several minutes): monitor/testing/icpbench
# runs the real binary beside redis-benchmark, blackbox_exporter and wrk
# (bench-deps installs them; `make test` never needs them) and prints the
# tables (also to bin/bench.md); then the Go benchmarks the profiles come from.
BENCH_PKGS := ./cmd/icpmon/ ./monitor/store/ ./monitor/daemon/ ./monitor/metrics/ ./monitor/prober/ ./scraper/miit/

bench-deps:
	bash .ci/install-deps bench

bench: build bench-deps
	$(GO) run ./monitor/testing/icpbench -icpmon $(BIN) -out bin/bench.md
	$(GO) test -run '^$$' -bench 'TrackImport100k|AddMany100k|Active100k|ListHistory100k|View100k|Snapshot100k|Scrape100k|Probe|Lookup' \
	  -benchtime 3x -benchmem $(BENCH_PKGS)

clean:
	rm -rf bin

# Installs the binary, the systemd unit, the example config (an existing one
# is kept) and the alert rules: `sudo make install`; DESTDIR and PREFIX stage
# or relocate them (deploy/install.sh).
.PHONY: install
install: build
	DESTDIR='$(DESTDIR)' PREFIX='$(or $(PREFIX),/usr/local)' BIN='$(BIN)' bash deploy/install.sh

# The .deb and .rpm for ops hosts, in bin/packages/ (PKG_OUT), by
# deploy/package/build.sh with nfpm; README "Run on an ops host" lists what
# they hold. The binary is built as `make build` does, with cgo off: static,
# so the same one runs on any distribution's libc.
NFPM      := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
PKG_STAGE ?= bin/package-root
PKG_OUT   ?= bin/packages

.PHONY: package
package:
	CGO_ENABLED=0 $(MAKE) --no-print-directory build BIN='$(PKG_STAGE)/icpmon'
	GO='$(GO)' NFPM='$(NFPM)' VERSION='$(VERSION)' bash deploy/package/build.sh '$(PKG_STAGE)' '$(PKG_OUT)'
