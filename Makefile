# The two commands of the README. Each prepares what it needs (.ci/setup: a Python
# >= 3.12, .venv, the project, and chromium for the browser test) and is idempotent.
#   make run                                  the embedded default scenario
#   make run ARGS="scenarios/baseline.toml --out out/baseline"
#   make test                                 the whole test suite (what CI runs)
#   make test PYTEST_ARGS='-m "not slow"'     the quick tests only
ARGS ?=
PYTEST_ARGS ?=

.PHONY: run test lint

run:
	@bash .ci/setup run
	.venv/bin/landsim run $(ARGS)

test:
	@bash .ci/setup test
	.venv/bin/python -m pytest $(PYTEST_ARGS)

lint:
	@bash .ci/setup test
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
