# Sakspost: everything starts from these targets. Each creates .venv and installs the pinned
# dependencies (requirements-dev.lock) on first use, so a fresh machine needs only Python 3.11.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.lock pyproject.toml | cksum | cut -d' ' -f1)

# `make test` scales the issues' large scenarios down; `make test-full` runs them whole. Both run
# the suite in TEST_WORKERS processes; with work stealing a worker that is done takes tests
# still queued for the other.
TEST_SCALE ?= 0.1
TEST_WORKERS ?= 2
PYTEST := $(BIN)/pytest -q -n $(TEST_WORKERS) --dist worksteal
# `make bench BENCH_ARGS="--no-profile"` runs without py-spy on the services.
BENCH_ARGS ?=
# `make bench-full`: the backlog of issue 20, drained by two replicas of each service.
BENCH_FULL_MAILS ?= 10000
CHAOS_MINUTES ?= 30
# NATS nodes under `make chaos`: a cluster of three also loses nodes (1: a single server).
CHAOS_CLUSTER ?= 3

.PHONY: demo test test-fast test-full screenshots bench bench-full chaos lint asyncapi-check deploy-check format lock \
	lock-image system clean

# The official AsyncAPI parser (Node) checks the generated documents; `npm ci` installs exactly the
# committed lock, again whenever the lock changes.
ASYNCAPI_TOOL := devtools/asyncapi
ASYNCAPI_STAMP := $(ASYNCAPI_TOOL)/node_modules/.installed

$(STAMP): requirements-dev.lock pyproject.toml
	@$(PYTHON) devtools/check_system.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@# Development code (devtools: emulator, stand-in, bench, chaos) is not in the package; the
	@# development environment imports it from the repository root.
	$(BIN)/python -c "import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()['purelib'], 'sakspost-development.pth').write_text('$(CURDIR)\n')"
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

system:
	@$(PYTHON) devtools/check_system.py

demo: $(STAMP)
	$(BIN)/sakspost up --demo

test: $(STAMP)
	SAKSPOST_SCENARIO_SCALE=$(TEST_SCALE) $(PYTEST)

# Pure logic and the handlers on FastStream's in-memory broker: no server, no process.
test-fast: $(STAMP)
	$(PYTEST) -m "not integration"

test-full: $(STAMP)
	SAKSPOST_SCENARIO_SCALE=1 $(PYTEST) --timeout=1800

# The README's pictures of the overview, taken by its browser tests.
screenshots: $(STAMP)
	SAKSPOST_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q -p no:xdist tests/browser

bench: $(STAMP)
	$(BIN)/python -m devtools.bench $(BENCH_ARGS)

bench-full: $(STAMP)
	$(BIN)/python -m devtools.bench.drain --mails $(BENCH_FULL_MAILS) --replicas 2

chaos: $(STAMP)
	$(BIN)/python -m devtools.chaos --minutes $(CHAOS_MINUTES) --cluster $(CHAOS_CLUSTER)

# The documents are validated last, once the export check has said they are current.
lint: $(STAMP) $(ASYNCAPI_STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/sakspost schemas export --check
	$(BIN)/python -m devtools.natschart
	@$(MAKE) --no-print-directory asyncapi-check
	@$(MAKE) --no-print-directory deploy-check

$(ASYNCAPI_STAMP): $(ASYNCAPI_TOOL)/package.json $(ASYNCAPI_TOOL)/package-lock.json
	cd $(ASYNCAPI_TOOL) && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

asyncapi-check: $(ASYNCAPI_STAMP)
	node $(ASYNCAPI_TOOL)/validate.mjs schemas/asyncapi/*.json

# The Kubernetes deployment without a cluster: every overlay rendered by kubectl's own kustomize,
# each object validated strictly (Kubernetes 1.30 schemas; KEDA and Prometheus-operator CRD
# models), hadolint on the Dockerfile. It prints which check each kind got.
deploy-check: $(STAMP)
	$(BIN)/python -m devtools.deploycheck

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Re-pin after changing dependencies in pyproject.toml. No index or find-links lines are written:
# the lock names packages and versions only.
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --no-header --strip-extras --no-emit-index-url \
		--no-emit-find-links -o requirements.lock pyproject.toml
	$(BIN)/pip-compile --quiet --no-header --strip-extras --no-emit-index-url \
		--no-emit-find-links --extra dev -o requirements-dev.lock pyproject.toml
	@$(MAKE) --no-print-directory lock-image

# The image's lock (deploy/Dockerfile installs it with --require-hashes): requirements.lock's pins
# exactly, plus what building the wheel needs (setuptools), each with the hashes of its files.
lock-image: $(STAMP)
	$(BIN)/pip-compile --quiet --no-header --strip-extras --no-emit-index-url \
		--no-emit-find-links --generate-hashes --allow-unsafe --build-deps-for wheel \
		-c requirements.lock -o requirements-image.lock pyproject.toml

clean:
	rm -rf $(VENV) .sakspost .mypy_cache .ruff_cache .pytest_cache $(ASYNCAPI_TOOL)/node_modules
