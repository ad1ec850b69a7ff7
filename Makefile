# asp_lab: `make book` builds the book, `make test` runs the tests. Both create .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PLOTLY_JS := book/_static/plotly.min.js
MATHJAX   := book/_static/mathjax/tex-mml-chtml.js
# The live widget (book/try_it.md, chapter 6): the shipped models as ONNX, the recordings it
# offers, and onnxruntime-web from npm; built into book/_static/live/ (ignored by git).
LIVE        := book/_static/live
LIVE_MODELS := $(LIVE)/models/models.json
ORT_WEB_VERSION := 1.30.0
ORT_WEB     := $(LIVE)/ort/ort.wasm.min.js
ASSETS    := $(PLOTLY_JS) $(MATHJAX) $(LIVE_MODELS) $(ORT_WEB)
NOTEBOOKS := $(wildcard notebooks/*.py)

.PHONY: help install assets cache-check book publish social-card test lab sync models experiments clean browser bench bench-deps bench-gpu colab-env

help:
	@echo "make book    build the book into _build/html (executes every notebook, cached)"
	@echo "make publish build, then push _build/html to the gh-pages branch (GitHub Pages)"
	@echo "make test    run the whole test suite (builds the book if needed)"
	@echo "make lab     open the notebooks in JupyterLab"
	@echo "make sync    regenerate each notebooks/*.ipynb from its .py, without outputs"
	@echo "make bench   time pooling layers on this machine into benchmarks/ (bench-deps: SpeechBrain)"
	@echo "make bench-gpu  on a CUDA machine: the GPU benchmark (float32, bfloat16) and training steps/s"
	@echo "make models  retrain every shipped checkpoint from scratch (about 30 min on 2 cores)"
	@echo "make experiments  chapter 5's comparison and chapter 6's attention grid, from the shipped models"
	@echo "make colab-env  .venv-colab: Colab's package versions, for the tests that run every chapter as Colab would"
	@echo "make clean   remove _build and caches (keeps .venv)"

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

# plotly.js ships inside the plotly package; the site serves one copy of it.
$(PLOTLY_JS): $(STAMP)
	@mkdir -p $(@D)
	cp "$$($(BIN)/python -c 'import plotly, pathlib; print(pathlib.Path(plotly.__file__).parent / "package_data" / "plotly.min.js")')" $@

# MathJax 3 ships inside the django-static-mathjax wheel (no Django needed): served from the
# site itself, the maths renders offline and without a CDN. Its other bundles are left out.
$(MATHJAX): $(STAMP)
	rm -rf $(@D) && mkdir -p $(@D)
	src="$$($(BIN)/python -c 'import mathjax, pathlib; print(pathlib.Path(mathjax.__file__).parent / "static" / "mathjax" / "es5")')" && \
	  cp "$$src/tex-mml-chtml.js" $(@D)/ && cp -r "$$src/input" "$$src/output" "$$src/ui" "$$src/a11y" "$$src/adaptors" "$$src/sre" $(@D)/

# Each shipped checkpoint as one ONNX graph (waveform in; embedding, attention, log-mel out),
# and the test-other utterances and noises the page offers, copied from data/.
$(LIVE_MODELS): $(STAMP) $(wildcard asp_lab/checkpoints/*.pt) asp_lab/export.py asp_lab/features.py asp_lab/models.py
	$(BIN)/asp-lab export-onnx --out $(@D) --audio $(LIVE)/audio

# onnxruntime-web's WebAssembly build, pinned: only the three files the page loads.
$(ORT_WEB):
	rm -rf $(@D) && mkdir -p $(@D) && tmp=$$(mktemp -d) && \
	  (cd $$tmp && npm pack --silent onnxruntime-web@$(ORT_WEB_VERSION) >/dev/null) && \
	  tar -xzf $$tmp/onnxruntime-web-$(ORT_WEB_VERSION).tgz -C $$tmp && \
	  cp $$tmp/package/dist/ort.wasm.min.js $$tmp/package/dist/ort-wasm-simd-threaded.wasm \
	     $$tmp/package/dist/ort-wasm-simd-threaded.mjs $$tmp/package/package.json $(@D)/ && \
	  rm -rf $$tmp

assets: $(ASSETS)

# The execution cache re-runs a notebook only when its own code changes. A change to the
# library, the shipped checkpoints or what is installed in .venv must re-run them all, so
# cache-check (run by book and test) clears the cache whenever the fingerprint of those (pip
# freeze and the files' SHA-256) differs from the one stored beside it: what a page shows is
# what this checkout and this .venv compute. BUILD_DIR is a variable for the tests.
BUILD_DIR   ?= _build
LIBRARY     := $(sort $(wildcard asp_lab/*.py asp_lab/*/*.py asp_lab/checkpoints/*))
FINGERPRINT := $(BUILD_DIR)/.cache-fingerprint
cache-check: $(STAMP) $(VENV)/.bench-deps
	@mkdir -p $(BUILD_DIR)
	@{ $(BIN)/python -m pip freeze --all --exclude-editable --disable-pip-version-check; \
	   sha256sum $(LIBRARY); } > $(FINGERPRINT).new
	@if cmp -s $(FINGERPRINT).new $(FINGERPRINT); then rm -f $(FINGERPRINT).new; else \
	  echo "library, checkpoints or installed packages changed: clearing the execution cache"; \
	  rm -rf $(BUILD_DIR)/.jupyter_cache; mv $(FINGERPRINT).new $(FINGERPRINT); fi

# The book shows SpeechBrain's layer beside asp_lab's (chapter 7), so it installs it too.
book: $(STAMP) $(ASSETS) $(VENV)/.bench-deps cache-check
	ASP_LAB_BOOK_BUILD=1 $(BIN)/jupyter-book build . --warningiserror --keep-going

# Publish _build/html by hand to the gh-pages branch (the workflow in .github/workflows/book.yml
# does this on every push to main): -n adds .nojekyll (the site has _static/), -f force-pushes.
publish: book
	$(BIN)/ghp-import -n -p -f _build/html

# The picture a shared link to the site shows (og:image), drawn from chapter 2's utterance.
social-card: $(STAMP)
	$(BIN)/python book/social_card.py

# Headless Chromium for the browser tests, from Debian's packages, when we may install it.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	      || echo "could not install chromium; browser tests will fail under CI=true and be skipped otherwise"; \
	    else echo "chromium/chromedriver not found: install them (Debian: apt-get install chromium chromium-driver) to run the browser tests"; fi; }

test: $(STAMP) $(ASSETS) browser $(VENV)/.bench-deps colab-env cache-check
	ASP_LAB_BOOK_BUILD=1 $(BIN)/python -m pytest

lab: $(STAMP)
	@$(BIN)/python -c "import jupyterlab" 2>/dev/null || $(BIN)/python -m pip install --quiet "jupyterlab>=4,<5"
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

# The Colab setup cell is written once, in book/colab_setup_cell.py, and stamped into every
# chapter before the .ipynb files are regenerated from the .py sources.
sync: $(STAMP)
	$(BIN)/python book/stamp_colab_cell.py
	$(BIN)/jupytext --to ipynb $(NOTEBOOKS)

# Train, evaluate and export every shipped model into asp_lab/checkpoints/ (with results.json);
# JOBS models at once, one thread each (the shipped ones' numbers are one thread's), about
# 25 minutes on two CPU cores. KEEP=1 keeps models already exported there.
JOBS ?= 2
models: $(STAMP)
	$(BIN)/python -m asp_lab.train --all --device cpu --out asp_lab/checkpoints \
	  --jobs $(JOBS) --threads 1 $(if $(KEEP),--keep-existing)

# Chapter 5's comparison (the shipped models on test-other, and cross-validation over the
# training speakers: 9 more training runs, JOBS at once) into asp_lab/checkpoints/comparison.json,
# and chapter 6's attention grid into attention_grid.json; both read the shipped models.
experiments: $(STAMP)
	$(BIN)/python -m asp_lab.experiments.attention_grid precompute
	$(BIN)/python -m asp_lab.experiments.crossval --jobs $(JOBS)

# SpeechBrain's attentive pooling for `asp-lab bench` (optional; the bench skips that row
# without it). --no-deps on purpose: speechbrain declares torchaudio, whose wheel would pull
# another torch. ECAPA_TDNN needs only hyperpyyaml and ruamel.yaml besides what .venv has;
# asp_lab.reference.speechbrain stands a stub in for torchaudio while it imports.
bench-deps: $(VENV)/.bench-deps

# The GPU figures chapter 7 waits for, in one command on a CUDA machine (Colab included):
# the benchmark in float32 (with forward bandwidth and autocast errors) and in bfloat16,
# and a 300-step training run's steps per second with DataLoader workers. Commit the
# benchmarks/cuda-*.json and train-cuda-*.json files it writes; chapter 7 picks them up.
GPU_TAG = $$($(BIN)/python -c 'import torch; print(torch.cuda.get_device_name(0).replace(" ", "-"))')-$$(date +%Y-%m-%d)
bench-gpu: $(STAMP) $(VENV)/.bench-deps
	$(BIN)/asp-lab bench --device cuda --out benchmarks/cuda-$(GPU_TAG).json \
	  --plot benchmarks/cuda-$(GPU_TAG).png
	$(BIN)/asp-lab bench --device cuda --dtype bfloat16 --out benchmarks/cuda-$(GPU_TAG)-bf16.json
	$(BIN)/asp-lab train --device cuda --pooling asp-channel --steps 300 --workers 4 \
	  --no-eval --out runs/bench-gpu
	cp runs/bench-gpu/asp-channel-seed0.json benchmarks/train-cuda-$(GPU_TAG).json

# Colab's own versions of what asp_lab imports (tests/colab/colab-versions.txt), with this
# machine's Python and torch 2.13's CPU build in place of Colab's CUDA torch: the test
# tests/test_colab_runtime.py installs asp_lab there as the chapters' setup cell does and
# runs every chapter and widget in it.
COLAB_VENV := .venv-colab
colab-env: $(COLAB_VENV)/.installed
$(COLAB_VENV)/.installed: tests/colab/colab-versions.txt
	@test -x $(COLAB_VENV)/bin/python || $(PYTHON) -m venv $(COLAB_VENV)
	sed 's/^torch==.*/torch==2.13.*/' $< > $(COLAB_VENV)/requirements.txt
	$(COLAB_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	  -r $(COLAB_VENV)/requirements.txt
	@touch $@

$(VENV)/.bench-deps: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps \
	  speechbrain==1.1.2 hyperpyyaml==1.2.3 ruamel.yaml==0.18.17
	@touch $@

bench: $(STAMP)
	$(BIN)/asp-lab bench --out benchmarks/cpu-$$(date +%Y-%m-%d).json \
	  --plot benchmarks/cpu-$$(date +%Y-%m-%d).png

clean:
	rm -rf _build .pytest_cache .hypothesis tests/artifacts $(PLOTLY_JS) $(dir $(MATHJAX)) \
	  $(LIVE)/models $(LIVE)/audio $(LIVE)/ort
