# Durapay: `make dev` runs the whole stack on localhost, `make test` runs every test.
# uv is bootstrapped with pip if the machine lacks it; dependencies come from the committed uv.lock.

SHELL := /bin/bash
PYTHON ?= python3
UV = $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
PYTEST_ARGS ?=

.PHONY: dev test test-unit test-workflows lint fmt install bootstrap check-compose chaos bench bench-subscriptions bench-memory

bootstrap:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 \
		|| $(PYTHON) -m pip install --quiet --disable-pip-version-check uv

install: bootstrap
	@$(UV) sync --frozen --quiet

dev: install
	$(UV) run --frozen python -m sandbox.devstack

test: install lint
	$(UV) run --frozen pytest $(PYTEST_ARGS)

# Fast loops over the tiers that start no service (tests/conftest.py describes the tiers).
test-unit: install
	$(UV) run --frozen pytest tests/unit $(PYTEST_ARGS)

test-workflows: install
	$(UV) run --frozen pytest tests/workflows $(PYTEST_ARGS)

lint: install
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy .
	$(UV) run --frozen lint-imports

# The full chaos suite: `make test` runs a bounded version of the same tests.
chaos: install
	DURAPAY_CHAOS_PAYMENTS=100 DURAPAY_CHAOS_SUBSCRIPTIONS=20 DURAPAY_FUZZ_EXAMPLES=200 $(UV) run --frozen pytest tests/chaos $(PYTEST_ARGS)

# Every benchmark in one run (bench/suite.py): payments against both bare shapes on SQLite and
# PostgreSQL, single-client latency on the dev stack, subscriptions through a simulated year; writes
# bench/results/<UTC date>.md (about 12-15 minutes on 2 cores). BENCH_ARGS=--quick checks that it
# all runs in a few minutes and writes nothing.
bench: install
	$(UV) run --frozen python -m bench.suite $(BENCH_ARGS)

# Worker memory while 10,000 subscriptions sleep (about 15 minutes on 2 cores; not in make bench).
bench-memory: install
	$(UV) run --frozen python -m bench.subscription_memory --subscriptions $(or $(SUBSCRIPTIONS),10000)

# Subscriptions through a simulated year on the time-skipping server, then the bare workflow of the
# same billing-cycle shape (a benchmark, not a test).
bench-subscriptions: install
	$(UV) run --frozen python -m bench.subscription_year --subscriptions $(or $(SUBSCRIPTIONS),20)

fmt: install
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

# Validates docker-compose.yml with the example environment, without a Docker engine (Debian's
# docker-compose: apt-get install docker-compose). tests/integration/deploy/ checks the rest.
check-compose:
	env -i PATH="$$PATH" docker-compose --env-file .env.example -f docker-compose.yml config -q
