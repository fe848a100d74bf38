# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
UV ?= uv
PY := .venv/bin/python
PYTEST := .venv/bin/pytest
# Real RabbitMQ and Postgres for the tests: from AMQP_URL/DATABASE_URL, else Docker
# (testcontainers), else the ones running on this machine; see deploy/local/test-infra.sh.
WITH_INFRA := deploy/local/test-infra.sh

.PHONY: install browser run images k8s-images test test-unit test-integration test-e2e test-faults lint typecheck docs contracts-baseline bench bench-scale clean

install: .venv/.installed
.venv/.installed: uv.lock pyproject.toml $(wildcard shared/*/pyproject.toml services/*/pyproject.toml)
	@command -v $(UV) >/dev/null || python3 -m pip install --quiet uv
	$(UV) sync --frozen
	@touch $@

## Debian's Chromium for the browser tests (tests/ui): Playwright's own download does not work here.
browser:
	@[ -x /usr/bin/chromium ] || [ -n "$$CHROMIUM_PATH" ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## Start all six services locally against this machine's RabbitMQ and Postgres (started
## first when installed and stopped; one line says what to install when they are not).
run: install
	$(PY) deploy/local/stack.py

## The six images (deploy/docker/Dockerfile), tagged with the git commit, and deploy/k8s
## pinned to them (kustomization.yaml `images:`). REGISTRY=registry.example.com/crm
## names where they go (push them yourself); TAG overrides the commit.
TAG ?= $(shell git describe --always --dirty --abbrev=12)
SERVICE_PORTS := gateway:8000 leads:8001 customers:8002 sales:8003 accounting:8004 marketing:8005
images:
	@for pair in $(SERVICE_PORTS); do svc=$${pair%%:*}; port=$${pair##*:}; \
	  docker build -f deploy/docker/Dockerfile --build-arg SERVICE=$$svc --build-arg PORT=$$port \
	    -t $(or $(REGISTRY),crm)/$$svc:$(TAG) . || exit 1; \
	done
	$(MAKE) k8s-images

## Only write TAG (and REGISTRY) into deploy/k8s/kustomization.yaml.
k8s-images: install
	$(PY) deploy/k8s/pin_images.py --tag "$(TAG)" $(if $(REGISTRY),--registry "$(REGISTRY)")

## Every test level; fails when no test ran. The fault suite (several minutes; it
## restarts this machine's RabbitMQ twice) runs last, as `make test-faults`.
test: install browser
	$(WITH_INFRA) $(PYTEST) -m "not faults" shared services tests
	$(MAKE) test-faults

## Fault injection against real processes: crashes, outages, broker restarts (tests/faults).
test-faults: install
	$(WITH_INFRA) $(PYTEST) -m faults tests/faults

test-unit: install
	$(PYTEST) -m unit shared services tests

test-integration: install
	$(WITH_INFRA) $(PYTEST) -m integration shared services tests

test-e2e: install browser
	$(WITH_INFRA) $(PYTEST) -m e2e tests

lint: install
	.venv/bin/ruff check shared services tests deploy bench docs
	.venv/bin/ruff format --check shared services tests deploy bench docs

typecheck: install
	.venv/bin/mypy -p crm_contracts -p crm_kit -p crm_testkit -p gateway -p leads -p customers -p sales -p accounting -p marketing -p docs

## Measure the system against this machine's own limit (see bench/README.md).
bench: install
	@command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null 2>&1 || echo "[bench] no wrk: the gateway is loaded by an asyncio client"
	$(WITH_INFRA) $(PY) bench/run.py

## The system at a real distributor's size: fill every database (1,000,000 customers, ...),
## then time searches, lists, the 360, reports and an import through the gateway
## (bench/README.md). SCALE_ARGS="--customers 50000 --keep" for a smaller or kept run.
bench-scale: install
	$(WITH_INFRA) $(PY) bench/scale.py $(SCALE_ARGS)

## Regenerate docs/events.md, docs/asyncapi/*.json and docs/api.md from the code (a test checks them).
docs: install
	$(PY) docs/generate.py

## Record the event schemas in shared/contracts/baseline.json after a compatible change
## (a new optional field, event or version); it refuses a breaking one (see docs/events.md).
contracts-baseline: install
	$(PY) -m crm_contracts.compatibility write shared/contracts/baseline.json

clean:
	rm -rf .venv .local .pytest_cache .ruff_cache .mypy_cache
