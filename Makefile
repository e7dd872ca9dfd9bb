# The README's two commands: `make demo` and `make test`. Both work on a fresh machine.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
export ZOO_DATA ?= $(abspath ../shared/data)
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: demo test test-slow bench notebooks install clean speech-synth speech-espeak

$(BIN)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/zoo demo

# `-m "not slow"` skips long training; exit code 5 (no tests collected) fails the run.
# Two workers (pytest-xdist), each model's tests in one of them (tests/conftest.py): about
# a sixth faster than one process on 2 cores, where much of the work is single-threaded.
# tests/test_speech_synth.py speaks digits with Debian's flite and espeak-ng (a few seconds);
# tests/test_serve.py runs the web page's key handling (zoo/web/app.js) in Debian's nodejs.
# --durations lists the slowest tests at the end, so a CI log shows where the time went.
test: install
	command -v flite >/dev/null || (apt-get update -qq && apt-get install -y -qq flite)
	command -v espeak-ng >/dev/null || (apt-get update -qq && apt-get install -y -qq espeak-ng)
	command -v node >/dev/null || (apt-get update -qq && apt-get install -y -qq nodejs)
	$(BIN)/python -m pytest -m "not slow" -n 2 --dist loadgroup -q --durations=25 tests

# The browser test (tests/test_web.py) drives Debian's chromium through Playwright (in the
# lock); `playwright install` is never run: it would download a browser of its own.
test-slow: install
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	command -v festival >/dev/null || (apt-get update -qq && apt-get install -y -qq $(FESTIVAL))
	$(BIN)/python -m pytest -m slow -q tests

# Synthetic digit voices for speech-ctc (zoo_pipelines/speech/synth.py): flite and festival
# with three English voices; the audio goes under runs/, never into the repository.
FESTIVAL := festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
speech-synth: install
	command -v flite >/dev/null || (apt-get update -qq && apt-get install -y -qq flite)
	command -v festival >/dev/null || (apt-get update -qq && apt-get install -y -qq $(FESTIVAL))
	$(BIN)/python -m zoo_pipelines.speech.synth --out runs/speech/synth

# The independent check of issue 17: eight espeak-ng voices no recipe trains, tunes or
# chooses on (synth.EVALUATION_VOICES), 80 digits and 96 connected strings, both speech models scored.
ESPEAK := espeak-en-us,espeak-en-us-f3,espeak-en-gb,espeak-en-gb-f2,espeak-en-gb-scotland,espeak-en-029,espeak-en-gb-x-rp-m3,espeak-en-us-nyc-f4
speech-espeak: install
	command -v espeak-ng >/dev/null || (apt-get update -qq && apt-get install -y -qq espeak-ng)
	$(BIN)/python -m zoo_pipelines.speech.synth --out runs/speech/espeak --variants 1 --strings 12 \
	    --voices $(ESPEAK) --score speech-ctc speech-ctc-stream

# Every application against its PyTorch twin with each runtime's default threads, then
# with one thread (results/<name>-1thread.md), then peak memory of zoo predict and train.
# Run it on an idle machine: the reports warn when the load says otherwise.
BENCHMARKS := ner_bilstm forecast_lstm music_lstm speech_ctc caption_cnn_lstm summarize_attn charlm_lstm
bench: install
	$(BIN)/pip install -q torch==2.13.0
	for b in $(BENCHMARKS); do \
	  $(BIN)/python -m benchmarks.$$b || exit 1; \
	  $(BIN)/python -m benchmarks.$$b --threads 1 --out benchmarks/results/$$b-1thread.md || exit 1; \
	done
	$(BIN)/python -m benchmarks.memory

# Stores every notebook with its outputs (pictures included) for readers of the repository.
notebooks: install
	$(BIN)/python notebooks/execute.py

clean:
	rm -rf $(VENV) build *.egg-info
