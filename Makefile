# Two commands matter: `make demo` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck imports pytest docs generate test-db bench bench-search lock secrets-baseline clean

# Every dependency comes pinned and hash-checked from requirements.lock; then the project itself.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

# The sync modules from their async sources (every *_async.py): edit the source, then run this.
# tests/unit/test_generated.py fails while a generated module is not as this writes it.
generate: $(STAMP)
	$(BIN)/python tools/generate_sync.py

# Re-resolve the lock after changing dependencies in pyproject.toml.
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --all-extras --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links --output-file requirements.lock pyproject.toml

demo: $(STAMP)
	$(BIN)/shopdb demo

test: lint typecheck imports pytest docs

lint: $(STAMP)
	$(BIN)/ruff check src tests alembic bench tools examples
	$(BIN)/ruff format --check src tests alembic bench tools examples
	$(BIN)/detect-secrets-hook --baseline .secrets.baseline $$(git ls-files)

typecheck: $(STAMP)
	$(BIN)/mypy src tests bench tools examples

imports: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest

# The documentation site into site/, every warning an error (a broken link, anchor or docstring).
# Material's banner about its successor is no warning of this project's.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The database suites only, e.g. against another server: DATABASE_URL=postgresql://... make test-db
test-db: $(STAMP)
	$(BIN)/pytest -m database

# A whole run also writes its table and targets into docs/performance.md (its generated section);
# the subcommands (bulk, cart, flash, replicas, async) print only.
BENCH_DOCS = $(if $(filter bulk cart flash replicas async,$(firstword $(BENCH_ARGS))),,--docs docs/performance.md)
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS) $(BENCH_DOCS)

# The search mix at 10,000 and 1,000,000 products side by side (seeding takes a minute or two).
bench-search: $(STAMP)
	$(BIN)/python -m bench --products 10000 --growth 1000000 --only search $(BENCH_ARGS)

# After an audit: every finding in the baseline is a known non-secret (examples, test canaries).
secrets-baseline: $(STAMP)
	$(BIN)/detect-secrets scan --baseline .secrets.baseline $$(git ls-files)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis
