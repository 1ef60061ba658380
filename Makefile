.PHONY: demo test setup lint typecheck pcaps bench clean

VENV := .venv
PY := $(VENV)/bin/python

setup:
	@./scripts/setup.sh

demo: setup
	$(VENV)/bin/corenet demo

test: setup lint typecheck
	$(PY) -m pytest -q

lint:
	$(VENV)/bin/ruff check corenet sim_ue tests benchmarks

typecheck:
	$(VENV)/bin/mypy corenet sim_ue

pcaps: setup
	$(VENV)/bin/corenet pcaps --out pcaps --seed 1

bench: setup
	$(PY) benchmarks/codec.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
