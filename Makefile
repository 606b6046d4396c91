# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/baseline.yaml
OUT ?= results/baseline

.PHONY: run test lint typecheck pytest bench clean readme-images

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/msp-sim run $(SCENARIO) --out $(OUT) --report

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check simulator tests benchmarks
	$(BIN)/mypy simulator
	$(BIN)/lint-imports --no-logo

# The suite runs on every core, one test file per worker at a time (files share their module fixtures).
test: lint
	$(BIN)/python -m pytest -n auto --dist loadfile

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_growth.py --no-incentives

# The README's pictures: the baseline comparison and verdict charts and a screenshot of the top of its report
# (needs chromium).
readme-images: run
	mkdir -p docs/images
	cp $(OUT)/comparison.png docs/images/comparison.png
	cp $(OUT)/verdict.png docs/images/verdict.png
	chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --hide-scrollbars --user-data-dir=$$(mktemp -d) \
		--window-size=1200,1500 --screenshot=docs/images/report.png file://$(CURDIR)/$(OUT)/report.html

clean:
	rm -rf $(VENV) results .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .grimp_cache
