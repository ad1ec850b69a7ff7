# asp_lab: `make book` builds the book, `make test` runs the tests. Both create .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PLOTLY_JS := book/_static/plotly.min.js
NOTEBOOKS := $(wildcard notebooks/*.py)

.PHONY: help install book test lab sync models clean browser

help:
	@echo "make book    build the book into _build/html (executes every notebook, cached)"
	@echo "make test    run the whole test suite (builds the book if needed)"
	@echo "make lab     open the notebooks in JupyterLab"
	@echo "make sync    regenerate each notebooks/*.ipynb from its .py, without outputs"
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

book: $(STAMP) $(PLOTLY_JS)
	ASP_LAB_BOOK_BUILD=1 $(BIN)/jupyter-book build . --warningiserror --keep-going

# Headless Chromium for the browser tests, from Debian's packages, when we may install it.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	      || echo "could not install chromium; browser tests will fail under CI=true and be skipped otherwise"; \
	    else echo "chromium/chromedriver not found: install them (Debian: apt-get install chromium chromium-driver) to run the browser tests"; fi; }

test: $(STAMP) $(PLOTLY_JS) browser
	ASP_LAB_BOOK_BUILD=1 $(BIN)/python -m pytest

lab: $(STAMP)
	@$(BIN)/python -c "import jupyterlab" 2>/dev/null || $(BIN)/python -m pip install --quiet "jupyterlab>=4,<5"
	$(BIN)/jupyter lab notebooks/

sync: $(STAMP)
	$(BIN)/jupytext --to ipynb $(NOTEBOOKS)

clean:
	rm -rf _build .pytest_cache .hypothesis tests/artifacts $(PLOTLY_JS)
