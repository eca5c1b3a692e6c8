# Everything a fresh machine needs: `make test` and `make paper` create .venv and install pinned dependencies.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PRESET ?= full

.PHONY: install test export-check nbtest pytest paper docs docs-check outputs readme lab bench clean

# torch is pinned in the same pip call as trl/peft/accelerate, so pip never pulls a CUDA build.
$(STAMP): settings.ini setup.py requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock "torch==2.13.0" -e ".[dev]"
	$(BIN)/python -m pip check
	@touch $(STAMP)

install: $(STAMP)

# The module is generated from the notebooks: exporting again must change nothing.
export-check: $(STAMP)
	@before=$$(find agentsafety -name '*.py' -type f | sort | xargs md5sum | md5sum); \
	$(BIN)/nbdev_export; \
	after=$$(find agentsafety -name '*.py' -type f | sort | xargs md5sum | md5sum); \
	if [ "$$before" != "$$after" ]; then \
	  echo "nbdev_export changed agentsafety/: the module is out of sync with nbs/"; git status --short agentsafety; exit 1; \
	fi; echo "nbdev_export: module in sync with notebooks"

nbtest: $(STAMP)
	$(BIN)/nbdev_test --n_workers 2 --timing

pytest: $(STAMP)
	$(BIN)/python -m pytest tests -q -p no:cacheprovider

test: export-check nbtest pytest

paper: $(STAMP)
	$(BIN)/agentsafety paper --preset $(PRESET) --out out

# The site in _docs/ without quarto (nbdev's processing, one page per notebook with its stored outputs, offline); it
# exits with an error naming any notebook that did not process or page that fails the checks.
docs: $(STAMP)
	$(BIN)/python -c "from agentsafety.docs import docs_main; docs_main()"

# docs, then every page opened in headless Chromium (when installed): no raw front matter, titles, outputs, no request
# to another host. SHOTS=DIR also saves a PNG of every page.
docs-check: $(STAMP)
	$(BIN)/python -c "from agentsafety.docs import docs_check_main; docs_check_main()" $(if $(SHOTS),--screenshots $(SHOTS))

# Every notebook executed in place, its outputs kept for the docs pages and its metadata cleaned as nbdev_clean does;
# paper.ipynb keeps a quick run's outputs (stages cached in out/quick). NBS="nbs/a.ipynb nbs/b.ipynb" runs only those.
outputs: $(STAMP)
	$(BIN)/python -c "from agentsafety.outputs import outputs_main; outputs_main()" $(foreach n,$(NBS),--nb $(n))

# README.md is written from nbs/index.ipynb (nbdev's readme_nb); tests/test_docs.py fails when they differ.
readme: $(STAMP)
	$(BIN)/python -c "from agentsafety.docs import readme_main; readme_main()"

lab: $(STAMP)
	$(BIN)/jupyter lab --allow-root --no-browser nbs/explore.ipynb

bench: $(STAMP)
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf _docs _proc out
