# One command for the main job, one for the tests. Each creates .venv (pip) if it is missing.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PLUGINS := $(wildcard plugins/*)
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all install clean

$(STAMP): pyproject.toml $(wildcard plugins/*/pyproject.toml)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,export]' $(addprefix -e ,$(PLUGINS))
	touch $(STAMP)

install: $(STAMP)

# The main job: audio-only vs text-only vs fused on the bundled synthetic corpus, default components
# (faster-whisper tiny.en transcripts, frozen Whisper encoder, MiniLM, cross-attention head).
DEMO_OUT ?= runs/demo
demo: $(STAMP)
	$(VENV)/bin/fusion ablate --dataset demo --out $(DEMO_OUT)

test: $(STAMP)
	$(PY) -m pytest -q

test-all: $(STAMP)
	$(PY) -m pytest -q -m ""

clean:
	rm -rf $(VENV) .pytest_cache
