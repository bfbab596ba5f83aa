# cdsgen — one command builds everything, one command tests everything.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ASSETS := node_modules/.installed

.PHONY: build install assets browser wrk lint generate check site test bench clean

build: install lint generate site  ## fresh machine → lint, every artefact, the site

install: $(STAMP)

# The generated packages are projects of their own (cds-models, cds-client, cds-server);
# cdsgen requires them, so all four are installed editable together. (Their version moves
# with the root pyproject.toml's exact pins of them, so that file alone triggers a reinstall.)
PACKAGES := generated/python/cds_models generated/python/cds_client generated/python/cds_server

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(addprefix -e ,$(PACKAGES)) -e '.[dev]'
	touch $@

# The four distributions (sdist + wheel each) in dist/: cds-models, cds-client, cds-server
# from their generated projects, cdsgen from the root; each built in an isolated build env.
.PHONY: dist
dist: install
	rm -rf dist
	@for p in $(PACKAGES) .; do $(BIN)/python -m build --outdir dist $$p || exit 1; done

# The site's front-end files (mermaid, Swagger UI), served by the site itself: no CDN.
# --ignore-scripts: install scripts of these packages only report telemetry.
assets: $(ASSETS)

$(ASSETS): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# Debian's Chromium for tests/test_browser.py, installed only when missing.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
		$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends chromium; \
	fi

# Debian's wrk, the HTTP load generator of bench/serve_bench.py, installed only when missing.
wrk:
	@if ! command -v wrk >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
		$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends wrk; \
	fi

lint: install
	$(BIN)/cdsgen lint
	$(BIN)/ruff check tools tests bench examples
	$(BIN)/ruff format --check tools tests bench examples

generate: install
	$(BIN)/cdsgen generate

check: install
	$(BIN)/cdsgen generate --check

site: install assets
	@if [ -f mkdocs.yml ]; then NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site_build; fi

test: install assets browser wrk
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# Every benchmark; each checks the work it measured and exits non-zero when it is missing.
bench: install wrk
	@set -e; for b in generate parse_usage serve_bench client_usage; do \
		echo "== bench/$$b.py"; $(BIN)/python bench/$$b.py; done

clean:
	rm -rf $(VENV) node_modules site_build .pytest_cache
