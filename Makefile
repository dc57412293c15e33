# Two commands for a newcomer: `make up` runs the platform, `make test` passes the tests.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := python3 -m uv
endif
PYTEST_ARGS ?=

.PHONY: tools up down status test test-reliability lint unit integration e2e reliability bench bench-scaling bench-fanout clean

# uv from PyPI when it is missing, then the locked environment (a no-op when nothing changed).
tools:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
		python3 -m pip install --quiet --user uv || \
		python3 -m pip install --quiet --user --break-system-packages uv
	@$(UV) sync --frozen --quiet

up: tools
	$(UV) run hookline up

down: tools
	$(UV) run hookline down

status: tools
	$(UV) run hookline infra status

lint: tools
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy

unit: tools
	$(UV) run pytest tests/unit $(PYTEST_ARGS)

integration: tools
	$(UV) run pytest tests/integration $(PYTEST_ARGS)

e2e: tools
	$(UV) run pytest tests/e2e $(PYTEST_ARGS)

# Faults while 5,000 events fan out to 5 webhooks: ~2-3 min per scenario, 8 scenarios; too long for `make test`.
reliability: tools
	$(UV) run pytest tests/reliability $(PYTEST_ARGS)

# The reliability suite as CI runs it: two pytest sessions side by side, each with servers of its own (test
# slots 11 and 12). Its scenarios mostly wait out outages, so two at once nearly halve its time on two cores.
test-reliability: tools
	@set -o pipefail; \
	HOOKLINE_TEST_SLOT=11 $(UV) run pytest tests/reliability/test_server_outages.py $(PYTEST_ARGS) 2>&1 \
		| sed -u 's/^/[outages] /' & outages=$$!; \
	HOOKLINE_TEST_SLOT=12 $(UV) run pytest tests/reliability/test_killed_services.py \
		tests/reliability/test_failing_receiver.py $(PYTEST_ARGS) 2>&1 | sed -u 's/^/[kills] /' & kills=$$!; \
	status=0; wait $$outages || status=1; wait $$kills || status=1; \
	cat .hookline/reliability/results.json 2>/dev/null; exit $$status

# Lint first, then every suite in one pytest run so the servers start once.
test: lint
	$(UV) run pytest tests/unit tests/integration tests/e2e $(PYTEST_ARGS)

# The whole platform as separate processes, measured; prints a table and a last line of JSON.
bench: tools
	$(UV) run python bench/run.py

# Fan-out alone: one event to 10,000 webhooks, and sustained ingest into fan-out.
bench-fanout: tools
	$(UV) run python bench/fanout.py

# Saturation with one dispatcher process, then two: the scaling factor (bench/results/scaling.json).
bench-scaling: tools
	$(UV) run python bench/run.py --scaling

clean: down
	rm -rf .hookline .venv .pytest_cache .mypy_cache .ruff_cache
