# spikemesh build and check targets. `make test` is what CI runs.
PROTOC_GEN_GO_VERSION := v1.36.12
BIN := $(CURDIR)/.bin
GO ?= go

.PHONY: all build test vet fmt-check tidy-check purego-check proto proto-check tools fuzz clean

all: build

build:
	$(GO) build -o $(BIN)/node ./cmd/node

# The test command of the README: vet, formatting, stale generated code, the
# portable build, and every test with the race detector.
test: tools vet fmt-check tidy-check proto-check purego-check
	$(GO) test -race -count=1 ./...

# The engine without its assembly kernels (build tag purego, and another
# architecture) still builds, and its Go loops pass the engine's tests.
purego-check:
	GOARCH=arm64 $(GO) vet ./npu ./quant ./cortical
	$(GO) test -tags purego -count=1 ./npu

# Installs what the checks need and a fresh machine lacks: protoc (Debian's
# protobuf-compiler) for the generated-code check, and chromium for the live
# view's headless-browser test (internal/web).
tools:
	@command -v protoc >/dev/null 2>&1 || { \
		echo "installing protobuf-compiler"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null; }
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
		echo "installing chromium"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

vet:
	$(GO) vet ./...

# Fails when go.mod or go.sum is not what go mod tidy would write.
tidy-check:
	$(GO) mod tidy -diff

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

$(BIN)/protoc-gen-go:
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)

# Regenerate the protobuf Go code (needs protoc from Debian's protobuf-compiler).
proto: tools $(BIN)/protoc-gen-go
	PATH=$(BIN):$$PATH protoc --go_out=. --go_opt=module=github.com/spikemesh/spikemesh proto/brain/v1/*.proto

# Fails when the committed generated code differs from what `make proto` writes.
proto-check: proto
	@git diff --exit-code -- proto/ || { echo "generated protobuf code is stale: run make proto and commit"; exit 1; }

# Runs every fuzz target for FUZZTIME each (go test -fuzz takes one target at
# a time). A failing input is written to the package's testdata/fuzz; commit it.
# A target that stalls fails too: when its execution count does not move over
# the second half of its run. Minimizing a new input counts no execution, and
# takes up to a minute by default on a large input (a shipped genome), so
# FUZZMINTIME bounds it.
FUZZTIME ?= 30s
FUZZMINTIME ?= 3s
FUZZ_TARGETS := \
	./cortical:FuzzLoad \
	./cluster:FuzzParsePlacementFile \
	./cluster:FuzzDecodeMeta \
	./pns:FuzzDecodeContainer \
	./pns/natsio:FuzzDecodeSensorFrame \
	./actors:FuzzDecode \
	./actors:FuzzDecodeLockstep \
	./npu:FuzzRestore \
	./npu:FuzzRestoreBody \
	./quant:FuzzRoundTrip \
	./quant:FuzzMonotone \
	./internal/natsauth:FuzzParseCreds \
	./internal/natsauth:FuzzParseUsers \
	./internal/web:FuzzParseRate \
	./internal/raster:FuzzReader \
	./cmd/node:FuzzParseCPUList

fuzz:
	@log=$$(mktemp); trap 'rm -f $$log' EXIT; \
	for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
		{ $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$pkg 2>&1; \
		  echo "fuzz-exit $$?"; } | tee $$log; \
		grep -q '^fuzz-exit 0$$' $$log || exit 1; \
		awk '{ for (i = 1; i < NF; i++) if ($$i == "execs:") v[n++] = $$(i+1) + 0 } \
			END { if (n >= 4 && v[n-1] == v[int(n/2)]) { print "fuzz: stalled: no execution in the second half of the run"; exit 1 } }' $$log || exit 1; \
	done

clean:
	rm -rf $(BIN)
