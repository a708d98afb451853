# kfup — build, generate, lint and the three test tiers. `make help` lists the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

GO            ?= go
BIN           ?= $(CURDIR)/bin
ARTIFACTS     ?= $(CURDIR)/_artifacts
# The offline toolkit (node image, envtest binaries, workload images) beside the repo.
OFFLINE_KIND  ?= $(abspath $(CURDIR)/../shared/tools/offline-kind)
# Node image for e2e; empty means kfup's default (the upstream kindest/node of kind v0.33).
# CI sets kfup-offline/node:v1.37.2, built from source by $(OFFLINE_KIND).
KFUP_NODE_IMAGE ?=
E2E_TIMEOUT   ?= 60m
E2E_RUN       ?= .

VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/kfup/kfup/internal/version.version=$(VERSION) -X github.com/kfup/kfup/internal/version.commit=$(COMMIT)
TIER    := $(CURDIR)/hack/tier.sh
# Where make generate writes (and so where make verify looks for drift).
GENERATED := components manifests internal

.PHONY: help build test unit fuzz integration browser e2e check lint generate proto verify envtest envtest-path \
        dashboard-assets node-image workload-images istiod-image nvmlmock-image knative-images knative-conformance-images e2e-conformance bench bench-create bench-platform bench-platform-serverless bench-knative bench-training bench-hpo bench-serve bench-pipelines bench-run serving-fixtures clean

help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

build: ## build bin/kfup, bin/kfup-manager and bin/kfup-ingress (static; kfup builds the manager image from the two)
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/kfup ./cmd/kfup
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/kfup-manager ./cmd/kfup-manager
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/kfup-ingress ./cmd/kfup-ingress

generate: ## regenerate deepcopy code, CRDs and RBAC (controller-gen) and the vendored Knative manifests
	$(GO) generate ./manifests/...
	$(GO) tool controller-gen object paths=./components/...
	$(GO) tool controller-gen crd:generateEmbeddedObjectMeta=true paths=./components/... output:crd:dir=manifests/crds
	@# KServe's CRDs hold a pod spec per component and per framework: without descriptions, as
	@# KServe ships them, they stay well inside etcd's object size limit (rewrites the three files)
	$(GO) tool controller-gen crd:generateEmbeddedObjectMeta=true,maxDescLen=0 paths=./components/serving/api/... output:crd:dir=manifests/crds
	$(GO) run ./hack/serving-crd manifests/crds/serving.kserve.io_inferenceservices.yaml
	$(GO) tool controller-gen rbac:roleName=kfup-manager paths=./internal/apihost/... paths=./components/... output:rbac:dir=manifests/rbac
	@$(MAKE) --no-print-directory proto

PROTO_DIR := components/serving/modelserver/inferencepb

proto: ## generate the Go code of kfup's .proto files (protoc from Debian's protobuf-compiler; the plugins are go.mod tools)
	@if ! command -v protoc >/dev/null; then \
	  echo "protoc not found: the committed $(PROTO_DIR)/*.pb.go stay as they are (apt-get install protobuf-compiler to regenerate)"; \
	else \
	  mkdir -p $(BIN) && $(GO) build -o $(BIN)/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go && \
	  $(GO) build -o $(BIN)/protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc && \
	  protoc --plugin=protoc-gen-go=$(BIN)/protoc-gen-go --plugin=protoc-gen-go-grpc=$(BIN)/protoc-gen-go-grpc \
	    -I $(PROTO_DIR) --go_out=$(PROTO_DIR) --go_opt=paths=source_relative \
	    --go-grpc_out=$(PROTO_DIR) --go-grpc_opt=paths=source_relative $(PROTO_DIR)/*.proto; \
	fi

lint: ## go vet (all build tags) + gofmt check
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...
	$(GO) vet -tags browser ./dashboard/...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

verify: lint ## lint, and fail when generated files drift from their sources (make generate runs in a temporary copy; the working tree is not touched)
	@hack/dashboard-assets.sh --check
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	git ls-files -z --cached --others --exclude-standard | tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$$tmp"; \
	$(MAKE) -s -C "$$tmp" generate GO="$(GO)" >"$$tmp/.generate.log" 2>&1 || { cat "$$tmp/.generate.log"; echo "make generate failed in a copy of the tree"; exit 1; }; \
	drift=0; for d in $(GENERATED); do \
	  git diff --no-index --stat -- "$$d" "$$tmp/$$d" || drift=1; \
	done; \
	if [ $$drift != 0 ]; then echo "generated files are out of date: run 'make generate' and commit the result"; exit 1; fi

dashboard-assets: ## fetch the dashboard's pinned browser libraries (npm pack), verify their SHA256SUMS, write dashboard/assets/vendor/ (committed)
	hack/dashboard-assets.sh

envtest: ## build the envtest binaries (kube-apiserver, etcd) offline from the Go module proxy
	@$(OFFLINE_KIND)/build-envtest.sh >/dev/null

envtest-path: ## print the envtest binaries directory (KUBEBUILDER_ASSETS)
	@$(OFFLINE_KIND)/build-envtest.sh 2>/dev/null | tail -1

unit: ## unit tier: pure tests only (go test -short)
	@$(TIER) unit $(GO) test -short -count=1 ./...

# How long each fuzz target runs in the fuzz tier (a go test -fuzztime value: 10s, 1m, 500x).
FUZZTIME ?= 10s

# The packages holding a Fuzz target are found with grep (cheap), their targets with
# go test -list, so a target added anywhere in the tree joins the tier by itself.
fuzz: ## fuzz tier: every Fuzz target in turn for FUZZTIME (default 10s); the seeds also run in the unit tier
	@pkgs=$$(grep -rlE --include='*_test.go' --exclude-dir=.git --exclude-dir=_artifacts '^func Fuzz[A-Z0-9_]' . | xargs -r -n1 dirname | sort -u || true); \
	for pkg in $$pkgs; do \
	  list=$$($(GO) test -short -list '^Fuzz' "$$pkg"); \
	  for target in $$(echo "$$list" | grep '^Fuzz' || true); do \
	    echo "fuzz $$target in $$pkg for $(FUZZTIME)"; \
	    for try in 1 2; do \
	      log=$$(mktemp); rc=0; \
	      $(GO) test -short -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) "$$pkg" >"$$log" 2>&1 || rc=$$?; \
	      cat "$$log"; \
	      if [ $$rc = 0 ]; then rm -f "$$log"; break; fi; \
	      if [ $$try = 1 ] && ! grep -q 'Failing input written' "$$log" && grep -q 'context deadline exceeded' "$$log"; then \
	        echo "fuzz $$target: the fuzzing engine's own deadline race at -fuzztime's end (golang/go#75804, fixed in Go 1.27), no input found: running it again"; \
	        rm -f "$$log"; continue; \
	      fi; \
	      rm -f "$$log"; exit 1; \
	    done; \
	  done; \
	done

integration: envtest ## integration tier: envtest against a real kube-apiserver + etcd
	@export KUBEBUILDER_ASSETS="$${KUBEBUILDER_ASSETS:-$$($(OFFLINE_KIND)/build-envtest.sh 2>/dev/null | tail -1)}"; \
	  $(TIER) integration $(GO) test -count=1 ./...

test: unit integration ## unit + integration tiers

# The browser tier: kfup dashboard in a real headless Chromium (Debian's chromium, driven
# from Go with chromedp) against envtest; screenshots of every view in $(ARTIFACTS)/dashboard/.
# Without chromium it says so, records the tier as skipped and succeeds.
CHROMIUM ?= $(firstword $(shell command -v chromium chromium-headless-shell 2>/dev/null))

browser: envtest ## browser tier: the dashboard in headless Chromium (chromedp) against envtest, screenshots in $(ARTIFACTS)/dashboard/
	@if [ -z "$(CHROMIUM)" ]; then \
	  echo "==> tier browser: SKIP: chromium not found (apt-get install -y chromium; .ci/run installs it)"; \
	  mkdir -p $(ARTIFACTS); echo "tier browser: SKIP (chromium not found)" >>"$${TIER_SUMMARY:-$(ARTIFACTS)/tiers.txt}"; \
	else \
	  mkdir -p $(ARTIFACTS)/dashboard; \
	  export KUBEBUILDER_ASSETS="$${KUBEBUILDER_ASSETS:-$$($(OFFLINE_KIND)/build-envtest.sh 2>/dev/null | tail -1)}" CHROMIUM="$(CHROMIUM)" ARTIFACTS="$(ARTIFACTS)"; \
	  $(TIER) browser $(GO) test -tags browser -count=1 -run '^TestBrowser' -v ./dashboard/; \
	fi

node-image: ## ensure the e2e node image (offline build for kfup-offline/*, docker pull otherwise)
	@img="$(KFUP_NODE_IMAGE)"; \
	if [[ "$$img" == kfup-offline/* ]]; then $(OFFLINE_KIND)/build-node-image.sh; \
	elif [ -n "$$img" ] && ! docker image inspect "$$img" >/dev/null 2>&1; then docker pull "$$img"; fi

workload-images: ## build the e2e workload images (busybox, python-ml) offline
	$(OFFLINE_KIND)/build-workload-images.sh

E2E_HOME := $(ARTIFACTS)/e2e-home

# istiod, built from the istio.io/istio module kfup takes its charts from (hack/istiod pins
# the same version), under the image name the chart uses; cached in Docker by its label.
ISTIO_MODULE := $(shell awk '$$1 == "istio.io/istio" {print $$2}' go.mod)
ISTIOD_IMAGE := docker.io/istio/pilot:$(shell sed -n 's/^[[:space:]]*IstioTag *= *"\(.*\)"/\1/p' manifests/versions.go)

istiod-image: ## build istiod (pilot-discovery) from the pinned istio.io/istio module into a local Docker image (cached)
	@[ -n "$(ISTIO_MODULE)" ] && [ "$(ISTIOD_IMAGE)" != "docker.io/istio/pilot:" ] || { echo "cannot read the istio.io/istio pin from go.mod or IstioTag from manifests/versions.go" >&2; exit 1; }
	@if [ "$$(docker image inspect -f '{{index .Config.Labels "kfup.dev/istio-module"}}' $(ISTIOD_IMAGE) 2>/dev/null)" = "$(ISTIO_MODULE)" ]; then \
	  echo "$(ISTIOD_IMAGE): built from istio.io/istio $(ISTIO_MODULE) (cached)"; \
	else \
	  grep -q "istio.io/istio $(ISTIO_MODULE)$$" hack/istiod/go.mod || { echo "hack/istiod/go.mod must pin istio.io/istio $(ISTIO_MODULE), as go.mod does" >&2; exit 1; }; \
	  echo "building istiod from istio.io/istio $(ISTIO_MODULE) (a few minutes the first time)"; \
	  (cd hack/istiod && CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/pilot-discovery istio.io/istio/pilot/cmd/pilot-discovery) && \
	  $(GO) run ./hack/istiod-image --binary $(BIN)/pilot-discovery --tag $(ISTIOD_IMAGE) --istio-module $(ISTIO_MODULE) -o $(BIN)/istiod-image.tar && \
	  docker load -i $(BIN)/istiod-image.tar && rm -f $(BIN)/istiod-image.tar; \
	fi

# The GPU e2e test's image (e2e/gpu_test.go): kfup's in-cluster binary with the test-only
# --mock-nvml switch, which needs cgo (go-nvml's mocks) and the nvmlmock tag; linked
# statically against glibc, so that the image, like the manager's, needs no libc. It is
# never the manager image: make build stays CGO_ENABLED=0 without the tag, the image has
# its own repository, and hack/nvmlmock-image refuses a binary without the switch. The
# linker's warning about dlopen in a static binary is expected: the mock never loads
# libnvidia-ml (a real node would, and the static build then falls back to nvidia-smi).
NVMLMOCK_IMAGE ?= kfup.local/kfup-nvmlmock:e2e

nvmlmock-image: ## test-only image: kfup-manager with --mock-nvml (CGO_ENABLED=1 -tags nvmlmock, static glibc) for the GPU e2e test
	CGO_ENABLED=1 $(GO) build -tags nvmlmock,netgo,osusergo -ldflags "$(LDFLAGS) -linkmode external -extldflags -static" -o $(BIN)/kfup-nvmlmock ./cmd/kfup-manager
	$(GO) run ./hack/nvmlmock-image --binary $(BIN)/kfup-nvmlmock --tag $(NVMLMOCK_IMAGE) -o $(BIN)/nvmlmock-image.tar
	docker load -i $(BIN)/nvmlmock-image.tar && rm -f $(BIN)/nvmlmock-image.tar

# Knative Serving's binaries, built from the knative.dev/serving module whose release
# manifests kfup vendors (hack/knative pins it; Knative needs Kubernetes libraries 0.29,
# hence a module of its own), as kfup.local/knative-serving/<binary>:<version>, the
# images components.knative.images=kfup runs; cached in Docker by their label.
KNATIVE_MODULE := $(shell awk '$$1 == "require" && $$2 == "knative.dev/serving" {print $$3} $$1 == "knative.dev/serving" {print $$2}' hack/knative/go.mod)
KNATIVE_VERSION := $(shell sed -n 's/^[[:space:]]*KnativeServingVersion *= *"\(.*\)"/\1/p' manifests/versions.go)
KNATIVE_BINARIES := activator autoscaler autoscaler-hpa controller queue webhook

knative-images: ## build Knative Serving's images from the pinned knative.dev/serving module into local Docker (cached)
	@[ -n "$(KNATIVE_MODULE)" ] && [ -n "$(KNATIVE_VERSION)" ] || { echo "cannot read the knative.dev/serving pin from hack/knative/go.mod or KnativeServingVersion from manifests/versions.go" >&2; exit 1; }
	@cached=1; for b in $(KNATIVE_BINARIES); do \
	  [ "$$(docker image inspect -f '{{index .Config.Labels "kfup.dev/knative-module"}}' kfup.local/knative-serving/$$b:$(KNATIVE_VERSION) 2>/dev/null)" = "$(KNATIVE_MODULE)" ] || cached=0; \
	done; \
	if [ $$cached = 1 ]; then \
	  echo "kfup.local/knative-serving/*:$(KNATIVE_VERSION): built from knative.dev/serving $(KNATIVE_MODULE) (cached)"; \
	else \
	  echo "building Knative Serving $(KNATIVE_VERSION) from knative.dev/serving $(KNATIVE_MODULE) (a few minutes the first time)"; \
	  mkdir -p $(BIN)/knative && \
	  (cd hack/knative && CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $(BIN)/knative/ $(addprefix knative.dev/serving/cmd/,$(KNATIVE_BINARIES))) && \
	  $(GO) run ./hack/knative-images --binaries $(BIN)/knative --knative-module $(KNATIVE_MODULE) -o $(BIN)/knative-images.tar && \
	  docker load -i $(BIN)/knative-images.tar && rm -f $(BIN)/knative-images.tar; \
	fi

# Knative's KIngress conformance suite (knative.dev/networking/test/conformance/ingress, at
# the knative.dev/networking version Knative Serving's pin brings into hack/knative) and
# the images its backends run, built from that module as knative-images builds Serving's:
# kfup.local/knative-networking-test/<name>:<module version>, cached in Docker by label.
KNATIVE_NETWORKING_MODULE := $(shell awk '$$1 == "knative.dev/networking" {print $$2}' hack/knative/go.mod)
KNATIVE_TEST_IMAGES := grpc-ping httpproxy retry runtime timeout wsserver
# The kfup cluster e2e-conformance runs on; created (profile minimal) and deleted when absent.
CONFORMANCE_CLUSTER ?= conf
CONFORMANCE_FLAGS ?=

knative-conformance-images: ## build the test images of Knative's KIngress conformance suite from the pinned knative.dev/networking module (cached)
	@[ -n "$(KNATIVE_NETWORKING_MODULE)" ] || { echo "cannot read the knative.dev/networking pin from hack/knative/go.mod" >&2; exit 1; }
	@cached=1; for b in $(KNATIVE_TEST_IMAGES); do \
	  [ "$$(docker image inspect -f '{{index .Config.Labels "kfup.dev/knative-networking-module"}}' kfup.local/knative-networking-test/$$b:$(KNATIVE_NETWORKING_MODULE) 2>/dev/null)" = "$(KNATIVE_NETWORKING_MODULE)" ] || cached=0; \
	done; \
	if [ $$cached = 1 ]; then \
	  echo "kfup.local/knative-networking-test/*:$(KNATIVE_NETWORKING_MODULE): built from knative.dev/networking (cached)"; \
	else \
	  echo "building Knative's conformance test images from knative.dev/networking $(KNATIVE_NETWORKING_MODULE)"; \
	  mkdir -p $(BIN)/knative-test && \
	  (cd hack/knative && CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $(BIN)/knative-test/ $(addprefix knative.dev/networking/test/test_images/,$(KNATIVE_TEST_IMAGES))) && \
	  $(GO) run ./hack/knative-conformance images --binaries $(BIN)/knative-test --networking-module $(KNATIVE_NETWORKING_MODULE) -o $(BIN)/knative-test-images.tar && \
	  docker load -i $(BIN)/knative-test-images.tar && rm -f $(BIN)/knative-test-images.tar; \
	fi

e2e-conformance: build node-image knative-conformance-images ## Knative's KIngress conformance suite against kfup's ingress on kind cluster CONFORMANCE_CLUSTER (docs/ingress.md)
	@mkdir -p $(ARTIFACTS)/conformance
	$(GO) run ./hack/knative-conformance run --cluster $(CONFORMANCE_CLUSTER) --create --kfup $(BIN)/kfup \
	  --node-image "$(KFUP_NODE_IMAGE)" --tag $(KNATIVE_NETWORKING_MODULE) --artifacts $(ARTIFACTS)/conformance $(CONFORMANCE_FLAGS)

e2e: build node-image workload-images istiod-image nvmlmock-image knative-images ## e2e tier: kfup creates a kind cluster, tests run on it, it is deleted
	@mkdir -p $(ARTIFACTS)
	@rm -rf $(E2E_HOME)
	@export KFUP_BIN=$(BIN)/kfup ARTIFACTS=$(ARTIFACTS) KFUP_NODE_IMAGE="$(KFUP_NODE_IMAGE)" KFUP_E2E_HOME=$(E2E_HOME) KFUP_E2E_NVMLMOCK_IMAGE=$(NVMLMOCK_IMAGE); \
	  rc=0; $(TIER) e2e $(GO) test -tags e2e -count=1 -timeout $(E2E_TIMEOUT) -v -run '$(E2E_RUN)' ./e2e/ || rc=$$?; \
	  if [ "$${KFUP_E2E_KEEP:-0}" != 1 ]; then \
	    KFUP_HOME=$(E2E_HOME)/state KUBECONFIG=$(E2E_HOME)/kubeconfig $(BIN)/kfup delete --all -q || rc=1; fi; \
	  exit $$rc

check: ## everything CI runs: lint + generated-file check, fuzz, unit, integration, browser, e2e (one summary line per tier)
	@$(TIER) verify $(MAKE) --no-print-directory verify
	@$(TIER) fuzz $(MAKE) --no-print-directory fuzz
	@$(MAKE) --no-print-directory test
	@$(MAKE) --no-print-directory browser
	@$(MAKE) --no-print-directory e2e
	@$(TIER) --summary

bench: bench-create bench-platform bench-platform-serverless bench-knative bench-training bench-hpo bench-serve bench-pipelines bench-run ## all benchmarks

bench-create: build node-image ## wall time of 'kfup create' vs a plain kind create (same node image), and the ratio
	$(GO) run ./hack/bench-create --kfup $(BIN)/kfup --node-image "$(KFUP_NODE_IMAGE)"

bench-platform: build node-image ## wall time of 'kfup create --profile minimal' to all Ready, and the RSS of kfup's pods
	$(GO) run ./hack/bench-platform --kfup $(BIN)/kfup --node-image "$(KFUP_NODE_IMAGE)"

bench-platform-serverless: build node-image knative-images ## as bench-platform, with Knative Serving on kfup's ingress: the serverless stack's RSS
	$(GO) run ./hack/bench-platform --kfup $(BIN)/kfup --node-image "$(KFUP_NODE_IMAGE)" \
	  --set components.knative.enabled=true --set components.knative.images=kfup

bench-knative: build node-image workload-images knative-images ## Knative on kfup's ingress: cold start, throughput/p99 vs the container's Service, ingress RSS
	$(GO) run ./hack/bench-knative --kfup $(BIN)/kfup --node-image "$(KFUP_NODE_IMAGE)" $(BENCH_KNATIVE_FLAGS)

UPSTREAM_OPERATOR := $(BIN)/training-operator-v1.9

bench-training: build envtest ## 500 PyTorchJobs on envtest: time to all pods+services and peak RSS, kfup vs the upstream training-operator v1.9
	cd hack/bench-training/upstream && CGO_ENABLED=0 $(GO) build -o $(abspath $(UPSTREAM_OPERATOR)) .
	CGO_ENABLED=0 $(GO) build -o $(BIN)/bench-floor ./hack/bench-training/floor
	KUBEBUILDER_ASSETS="$$($(MAKE) -s envtest-path)" $(GO) run ./hack/bench-training --kfup $(BIN)/kfup-manager --upstream $(UPSTREAM_OPERATOR) --floor $(BIN)/bench-floor --jobs $(or $(JOBS),500)

bench-hpo: ## kfup's search algorithms vs Optuna 3.1 (TPE, random): best regret on Branin, Hartmann6, Rosenbrock-4D (20 seeds x 50 evals) and suggestion latency
	$(GO) run ./hack/bench-hpo --script hack/bench-hpo/optuna_bench.py $(if $(PYTHON),--python $(PYTHON)) $(BENCH_HPO_FLAGS)

bench-pipelines: build node-image ## a linear pipeline of STEPS (20) no-op steps on kind: median per-step overhead and wall time, vs the 1.5 s target
	$(GO) run ./hack/bench-pipelines --kfup $(BIN)/kfup --node-image "$(KFUP_NODE_IMAGE)" --steps $(or $(STEPS),20)

bench-run: build node-image workload-images ## kfup run's edit-and-rerun latency on kind (edit -> first log line), archive vs --bake, ROUNDS (3) each, vs the 5 s target
	$(GO) run ./hack/bench-run --kfup $(BIN)/kfup --node-image "$(KFUP_NODE_IMAGE)" --rounds $(or $(ROUNDS),3)

bench-serve: ## OIP v2 infer throughput and p50/p99 of kfup modelserver (small XGBoost model) vs a bare net/http handler, same load, same run
	$(GO) run ./hack/bench-serve $(BENCH_SERVE_FLAGS)

PYTHON_ML_IMAGE ?= kfup-offline/python-ml:bookworm

serving-fixtures: ## retrain the model server's XGBoost fixtures and their Python predictions (python-ml image)
	docker run --rm -u $$(id -u):$$(id -g) -v $(CURDIR):/w -w /w $(PYTHON_ML_IMAGE) python3 hack/serving-fixtures/make_fixtures.py

clean: ## remove build outputs
	rm -rf $(BIN) $(ARTIFACTS)
