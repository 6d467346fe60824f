# Steward: `make run` brings the stack up locally; `make test` runs every test.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PYTHON := $(VENV)/bin/python
PORT ?= 8080
STACK ?= steward-local
# Where `make deploy` goes: staging first, then production (samconfig.toml's environments).
ENV ?= staging
# The deployed stack (samconfig.toml's stack_name of ENV).
STACK_NAME ?= steward-$(ENV)
BUILD_ID ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo dev)
# Every deployed function: the cargo binaries the template names (Metadata.BuildProperties.Binary).
FUNCTIONS := $(shell awk '/^ +Binary:/ {print $$2}' template.yaml)

# A comma inside a $(call) argument.
, := ,
# A step that takes a while says what it does before it starts (cargo then shows its progress).
step = @printf '==> %s\n' "$(1)"

.PHONY: help venv venv-build venv-bench web screenshots run test fuzz lint sbom build verify-build bench bench-levers deploy fire operator migrate clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# The project virtualenv: the emulator and the template checks, pinned.
$(VENV)/.installed: infra/requirements.txt
	$(call step,Installing the emulator and the template checks into $(VENV) (once; about a minute))
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements.txt
	touch $@

venv: $(VENV)/.installed ## Install the emulator and template checks into .venv

$(VENV)/.installed-build: infra/requirements-build.txt $(VENV)/.installed
	$(call step,Installing the build tools (cargo-lambda and zig) and the arm64 target (once))
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements-build.txt
	rustup target add aarch64-unknown-linux-gnu
	touch $@

venv-build: $(VENV)/.installed-build

$(VENV)/.installed-bench: infra/requirements-bench.txt $(VENV)/.installed
	$(call step,Installing the benchmarks' Python packages (once))
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements-bench.txt
	touch $@

venv-bench: $(VENV)/.installed-bench

# The browser clients (web/): their Node dependencies, then the web app's build into
# web/build/app, which the local gateway serves at /app/ (a few seconds once installed).
web: ## Build the web app (web/build/app; the gateway serves it at /app/)
	$(call step,Installing the web app's packages and building it)
	bash web/install.sh
	cd web && npm run --silent build

# The web app's and the kiosk page's screenshots in docs/, taken by their browser tests.
screenshots: venv web ## Refresh docs/screenshots/*.png and docs/kiosk.png from the browser tests
	WEB_SCREENSHOTS=$(CURDIR)/docs/screenshots KIOSK_SCREENSHOT=$(CURDIR)/docs/kiosk.png \
		cargo test -p steward-e2e --test e2e -- web_app:: kiosk:: --test-threads=$(TEST_THREADS)

run: venv web ## Start emulator, gateway, web app and demo data; print where to go
	$(call step,Building the local stack (the first build takes several minutes))
	cargo build -p steward-local
	$(call step,Starting the emulator$(,) the gateway and the demo data)
	target/debug/steward-local run --port $(PORT) --stack $(STACK)

# Each library's unit tests and each integration test. Not the binaries' (thin mains without
# tests: each would link a test harness of the SDK for nothing) nor the benches (make bench
# runs them; clippy --all-targets checks them in make lint).
# Tests at a time in one binary: the end-to-end tests wait on the emulator more than on the CPU
# (at the default of one per core, half of two cores sat idle: 183 s, against 138 s at 4); at 8
# the emulator slows until the 50-way concurrency tests run out of retries.
TEST_THREADS ?= 4
test: venv web ## Every test: unit, emulator and end to end (the end-to-end tests are one binary, tests/tests/e2e/)
	cargo test --workspace --lib --test '*' --no-fail-fast -- --test-threads=$(TEST_THREADS)

# The fuzzing test of make test, long: 200 examples per operation, the stateful phase too,
# at most FUZZ_SECONDS per run (two runs: the tenant's routes and the operator's).
FUZZ_SECONDS ?= 600
fuzz: venv ## Fuzz every operation from docs/openapi.yaml for longer (~20 min): figures in target/fuzz
	STEWARD_FUZZ_EXAMPLES=200 STEWARD_FUZZ_PHASES=examples,coverage,fuzzing,stateful \
		STEWARD_FUZZ_SECONDS=$(FUZZ_SECONDS) STEWARD_FUZZ_SEED=$${STEWARD_FUZZ_SEED:-$$(date +%s)} \
		cargo test -p steward-e2e --test fuzz -- --nocapture

# cargo-deny, pinned, built once into .tools/ (a release build of a few minutes, the first time).
DENY_VERSION := 0.20.2
DENY := .tools/bin/cargo-deny
$(DENY):
	$(call step,Building cargo-deny $(DENY_VERSION) into .tools (once; a few minutes))
	cargo install --locked --root .tools cargo-deny@$(DENY_VERSION)

# cargo-machete, pinned, built once into .tools/ (under a minute): dependencies a crate declares
# and does not use. A use it cannot see (a macro's expansion) is listed, with why, under
# [package.metadata.cargo-machete] in that crate's Cargo.toml.
MACHETE_VERSION := 0.9.2
MACHETE := .tools/bin/cargo-machete
$(MACHETE):
	$(call step,Building cargo-machete $(MACHETE_VERSION) into .tools (once; under a minute))
	cargo install --locked --root .tools cargo-machete@$(MACHETE_VERSION)

lint: venv $(DENY) $(MACHETE) ## rustfmt, clippy -D warnings, cargo-deny (licences, bans, sources), unused dependencies, the template (its alarms, SAM translation, cfn-lint), the OpenAPI document, the web app (its generated client current, svelte-check)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(DENY) deny --log-level error check licenses bans sources
	$(MACHETE)
	$(PYTHON) infra/monitoring/alarms.py --check template.yaml
	$(PYTHON) infra/checks/template.py template.yaml
	$(PYTHON) infra/checks/openapi.py
	bash web/install.sh
	cd web && npm run --silent check-client && npm run --silent check

# cargo-cyclonedx, pinned, built once into .tools/ (about 4 minutes the first time).
CYCLONEDX_VERSION := 0.5.9
CYCLONEDX := .tools/bin/cargo-cyclonedx
$(CYCLONEDX):
	$(call step,Building cargo-cyclonedx $(CYCLONEDX_VERSION) into .tools (once; about 4 minutes))
	cargo install --locked --root .tools cargo-cyclonedx@$(CYCLONEDX_VERSION)

# The dependency graph each deployed binary is built from (arm64, no build-time dependencies),
# read from Cargo.lock: no build needed. cargo-cyclonedx writes next to each crate's manifest.
sbom: $(CYCLONEDX) ## CycloneDX 1.5 SBOM of each function binary into build/sbom/ (make build makes them too)
	$(call step,Writing each function's SBOM into build/sbom)
	$(CYCLONEDX) cyclonedx --format json --spec-version 1.5 --describe binaries \
		--target aarch64-unknown-linux-gnu --no-build-deps -q
	mkdir -p build/sbom
	for bin in $(FUNCTIONS); do mv functions/*/$${bin}_bin.cdx.json build/sbom/$$bin.cdx.json; done
	find functions infra shared tests -name '*_bin.cdx.json' -delete

build: venv-build sbom ## Release zips of every function for arm64 into build/, and their SBOMs into build/sbom/
	$(call step,Building every function for arm64$(,) release (about 30 minutes cold))
	STEWARD_BUILD_ID=$(BUILD_ID) AWS_LC_SYS_NO_JITTER_ENTROPY=1 PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
		cargo lambda build --release --arm64 --output-format zip --lambda-dir build $(addprefix --bin ,$(FUNCTIONS))

BENCH_OUT := $(CURDIR)/target/bench

# qemu-user runs an arm64 binary here; the arm64 C library is what the binaries link to.
QEMU := /usr/bin/qemu-aarch64-static
ARM64_SYSROOT := /usr/aarch64-linux-gnu

$(QEMU):
	$(call step,Installing qemu-user and the arm64 C library from Debian's packages (once))
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static libc6-arm64-cross libgcc-s1-arm64-cross

# Not in CI: it needs make build's release build (over half an hour cold). Run it before
# resolving an issue that touches the build (docs/runbooks/deploy.md).
verify-build: build venv-bench $(QEMU) ## Start every function's arm64 zip from make build under qemu-user against the local stack, its answer checked: into docs/performance.md
	$(call step,Building the verifier)
	cargo build -p steward-bench
	$(call step,Starting each function's arm64 bootstrap under qemu-user)
	target/debug/steward-bench verify-build --bundles build --work target/verify-build --out $(BENCH_OUT) \
		--launcher "$(QEMU) -L $(ARM64_SYSROOT)"
	$(PYTHON) infra/bench/report.py $(BENCH_OUT) docs

# Every release build here has the jitter-entropy lever, as make build's (a release step without
# it would rebuild aws-lc and all that depends on it, twice); the debug steps (the cold-start
# driver, the requests test) keep the debug builds as make test makes them.
bench: export AWS_LC_SYS_NO_JITTER_ENTROPY = 1
bench: venv-bench ## Benchmarks (release builds; ~60 min from a fresh clone): results in target/bench, tables in docs/performance.md
	mkdir -p $(BENCH_OUT) && find $(BENCH_OUT) -name '*.json' ! -name levers.json -delete
	$(call step,1/9 Release builds of every function and the two floors (about 30 minutes cold))
	cargo build --release $(addprefix --bin ,$(FUNCTIONS)) --bin floor-hello --bin floor-sdk
	$(call step,2/9 Cold starts: every function and the floors$(,) 20 starts each)
	env -u AWS_LC_SYS_NO_JITTER_ENTROPY cargo run --quiet -p steward-bench -- cold-start --binaries target/release --runs 20 --out $(BENCH_OUT)
	$(call step,3/9 The authorizer's decision)
	STEWARD_BENCH_OUT=$(BENCH_OUT) cargo bench -p steward-access --bench authorizer_decision
	$(call step,4/9 A booking's overhead against its raw calls)
	STEWARD_BENCH_OUT=$(BENCH_OUT) cargo bench -p steward-e2e --bench overhead
	$(call step,5/9 Requests through the gateway)
	env -u AWS_LC_SYS_NO_JITTER_ENTROPY STEWARD_BENCH_OUT=$(BENCH_OUT) cargo test -p steward-e2e --test requests -- --nocapture
	$(call step,6/9 Load)
	STEWARD_BENCH_OUT=$(BENCH_OUT) cargo bench -p steward-e2e --bench load
	$(call step,7/9 Sweep throughput)
	STEWARD_BENCH_OUT=$(BENCH_OUT) cargo bench -p steward-e2e --bench sweep_throughput
	$(call step,8/9 The web app: its first page's JavaScript and Lighthouse against the local stack)
	$(MAKE) --no-print-directory web
	cd web/bench && npm ci --no-audit --no-fund
	cargo build -p steward-local
	bash web/bench/run.sh $(BENCH_OUT)/web.json
	$(call step,9/9 Writing the tables into docs/performance.md)
	$(PYTHON) infra/bench/report.py $(BENCH_OUT) docs

# The build levers, each left off in a build of its own target directory: the SDK floor and two
# functions (one without a Cedar guard, one with), measured against make bench's builds.
LEVER_BINS := --bin floor-sdk --bin authorizer --bin rooms

bench-levers: venv-bench ## Each build lever's effect on cold start (two more release builds; ~30 min cold), into docs/performance.md
	mkdir -p $(BENCH_OUT)
	AWS_LC_SYS_NO_JITTER_ENTROPY=1 cargo build --release $(LEVER_BINS)
	CARGO_TARGET_DIR=$(CURDIR)/target/lever-jitter cargo build --release $(LEVER_BINS)
	CARGO_TARGET_DIR=$(CURDIR)/target/lever-profile AWS_LC_SYS_NO_JITTER_ENTROPY=1 \
		CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_STRIP=none \
		cargo build --release $(LEVER_BINS)
	cargo run --quiet -p steward-bench -- cold-start --binaries target/release --runs 60 \
		--only floor-sdk,AuthorizerFunction,RoomsFunction --name levers --out $(BENCH_OUT) \
		--variant "jitter entropy test on=target/lever-jitter/release" \
		--variant "default release profile=target/lever-profile/release" \
		--variant "traces off=env:TRACES_ENABLED=false"
	$(PYTHON) infra/bench/report.py $(BENCH_OUT) docs

deploy: venv-build web ## sam build then sam deploy to ENV=staging (default) or production: docs/runbooks/deploy.md (needs AWS credentials; not run here)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" STEWARD_BUILD_ID=$(BUILD_ID) AWS_LC_SYS_NO_JITTER_ENTROPY=1 sam build --config-file samconfig.toml --config-env $(ENV)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" sam deploy --config-file samconfig.toml --config-env $(ENV) $(SAM_ARGS)
	$(PYTHON) web/deploy.py --stack $(STACK_NAME)

fire: ## Fire a schedule of the running stack now: make fire SCHEDULE=Function/Event
	cargo run --quiet -p steward-local -- fire "$(SCHEDULE)" --url http://127.0.0.1:$(PORT)

operator: ## The first platform operator of a deployed stack (STEWARD_OPERATOR_PASSWORD=... make operator TABLE=<TableName output> EMAIL=<address>), or once there is one, a break-glass operator invitation
	cargo run --quiet -p steward-local -- operator --table "$(TABLE)" --email "$(EMAIL)"

migrate: ## Migrate a deployed table to what this version reads (idempotent): make migrate TABLE=<TableName output> [CONTRACT=1]; docs/runbooks/migrations.md
	cargo run -p steward-local -- migrate --table "$(TABLE)" $(if $(CONTRACT),--contract,)

clean: ## Remove build outputs and local state (not .venv)
	rm -rf build .local
	cargo clean
