# cdsgen — one command builds everything, one command tests everything.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: build install lint generate check site test bench clean

build: install lint generate site  ## fresh machine → lint, every artefact, the site

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

lint: install
	$(BIN)/cdsgen lint

generate: install
	$(BIN)/cdsgen generate

check: install
	$(BIN)/cdsgen generate --check

site: install
	@if [ -f mkdocs.yml ]; then $(BIN)/mkdocs build --strict --quiet --site-dir site_build; fi

test: install
	$(BIN)/python -m pytest -n 2 --dist loadgroup

bench: install
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b; done

clean:
	rm -rf $(VENV) site_build .pytest_cache
