# The two set-up commands: `make run` and `make test`. Both install the locked environment
# first (bootstrapping uv with pip if it is missing), so a fresh clone needs only Python 3.11.
PYTHON ?= python3
UV := $(PYTHON) -m uv
RUN := $(UV) run --frozen

.PHONY: uv install run test test-slow lint repro clean

uv:
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check uv

# --compile-bytecode: every `avemo <stage>` process imports torch, Lightning and MLflow; without
# .pyc files (uv does not write them by default) each start recompiles them (about 15 s)
install: uv
	$(UV) sync --frozen --extra all --compile-bytecode

run: install
	$(RUN) dvc repro
	$(RUN) avemo summary

# -n auto: one pytest-xdist worker per core; --dist loadfile keeps each test module (and its
# module-scoped fixtures, e.g. a running bento) in one worker
test: install
	$(RUN) pytest -q -n auto --dist loadfile

test-slow: install
	$(RUN) pytest -q -m slow

lint: install
	$(RUN) ruff check src tests

clean:
	rm -rf data reports/*.md .pytest_cache
