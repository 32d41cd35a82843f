# Two commands do everything on a fresh machine with Python 3.11+ and Node:
#   make demo   - the main job, locally, on real shop data
#   make test   - lint, format check and the whole test suite (what CI runs)
# Every install step lives here: uv (pinned, from PyPI) into .tools/, the project's packages
# into .venv/ (uv.lock), the CDK CLI into node_modules/ (package-lock.json), and the Lambda
# dependency layer into layers/deps/build/ for the Lambda platform.

UV_VERSION := 0.13.9
# jsii prints a large end-of-life banner on Node 20 at every CDK call; the CLI's telemetry stays off.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
UV := .tools/bin/uv
# The browser tests drive Debian's Chromium, headless; apt installs it only when it is missing.
CHROMIUM := /usr/bin/chromium
SUDO = $(if $(filter 0,$(shell id -u)),,sudo)
PYTHON ?= python3

.PHONY: demo demo-full local test bench synth bootstrap deploy setup clean

demo: .venv/.synced
	$(UV) run comeback demo

demo-full: .venv/.synced
	$(UV) run comeback demo --full

local: .venv/.synced
	$(UV) run comeback local $(LOCAL_ARGS)

test: .venv/.synced node_modules/.installed layers/deps/build/.built $(CHROMIUM)
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run pytest

bench: .venv/.synced
	$(UV) run python bench/run.py
	$(UV) run python bench/value_fit.py

# The CDK CLI runs `uv run python app.py` (cdk.json); .tools/bin puts the pinned uv on PATH.
synth: setup
	PATH="$(CURDIR)/.tools/bin:$$PATH" npx --no-install cdk synth --quiet $(CDK_ARGS)

bootstrap: setup
	PATH="$(CURDIR)/.tools/bin:$$PATH" npx --no-install cdk bootstrap $(CDK_ARGS)

deploy: setup
	PATH="$(CURDIR)/.tools/bin:$$PATH" npx --no-install cdk deploy $(CDK_ARGS)

setup: .venv/.synced node_modules/.installed layers/deps/build/.built

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium

layers/deps/build/.built: .venv/.synced layers/deps/requirements.txt scripts/build_deps_layer.py
	$(UV) run python scripts/build_deps_layer.py
	touch $@

clean:
	rm -rf .tools .venv node_modules layers/deps/build cdk.out out
