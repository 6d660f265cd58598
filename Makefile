# VSL Media. `make run` starts the whole service locally; `make test` runs every test.
# `make run` installs what running needs (requirements-run.txt); the test tools and
# the docs site (requirements-dev.txt), and the JavaScript SDK's (sdk/js/package-lock.json),
# come with `make install`, which `make test` runs.
# Python 3.13, as Lambda's python3.13 runtime: the first python3.13 that runs, from the
# PATH or from pyenv (whose shim on the PATH may not select 3.13).
PYTHON  ?= $(or $(shell for p in python3.13 $$(pyenv root 2>/dev/null)/versions/3.13*/bin/python3.13; do "$$p" -c '' 2>/dev/null && { command -v "$$p"; break; }; done),$(error Python 3.13 is needed: install it (pyenv install 3.13, or your system's python3.13) and run make again))
VENV    ?= .venv
BIN     := $(VENV)/bin
RUN_REQUIREMENTS := requirements.txt requirements-media.txt requirements-run.txt
RUN_STAMP := $(VENV)/.run-$(shell cat $(RUN_REQUIREMENTS) | sha1sum | cut -c1-12)
DEV_STAMP := $(VENV)/.dev-$(shell cat $(RUN_REQUIREMENTS) requirements-dev.txt | sha1sum | cut -c1-12)
# checkov pins an old boto3: it gets a virtualenv of its own.
CHECKOV_VENV := .venv-checkov
CHECKOV      := $(CHECKOV_VENV)/bin/checkov
STAGE   ?= homolog
# make test's processes: each runs whole test files (--dist loadfile) against a stack of
# its own on free ports. The suite is mostly CPU: more than the machine's cores only
# contend (2 here: 26 min on one, 15 on two). TEST_WORKERS=0 runs them in one process.
TEST_WORKERS ?= 2

.PHONY: install install-run browser run test unit docs package checkov deploy api-key load bench clean

$(RUN_STAMP):
	rm -f $(VENV)/.run-* $(VENV)/.dev-* $(VENV)/.installed-*
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip<26.3'
	$(BIN)/python -m pip install --quiet -r requirements-run.txt
	touch $@

$(DEV_STAMP): $(RUN_STAMP)
	rm -f $(VENV)/.dev-*
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# TypeScript, which generates and type-checks the JavaScript SDK's declarations (its tests
# need it; the package itself depends on nothing). npm ci writes the stamp.
JS_DEPS := sdk/js/node_modules/.package-lock.json
$(JS_DEPS): sdk/js/package.json sdk/js/package-lock.json
	cd sdk/js && npm ci --no-audit --no-fund
	touch $@

install-run: $(RUN_STAMP)

install: $(DEV_STAMP) $(JS_DEPS)

$(CHECKOV):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet 'checkov>=3.2,<4'

# The functions (chalice package, made a Terraform module) and the media layer, in build/.
package: install-run
	$(BIN)/python -m tools.package_terraform --stage $(STAGE)

# VSL_PROVISION=terraform make run provisions the emulator with Terraform.
run: install-run $(if $(filter terraform,$(VSL_PROVISION)),package)
	@$(BIN)/python -m local.stack

# Debian's Chromium for the browser test (tests/browser); a no-op when it is there.
browser:
	sh tools/install_browser.sh

test: install package $(CHECKOV) browser
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# Every pure test (the domain on fakes, the SDKs' own logic): no server, no network.
unit: install
	$(BIN)/python -m pytest -m "not integration" -q

# The documentation site (docs/, mkdocs.yml) at http://127.0.0.1:$(DOCS_PORT), rebuilt on
# every change; `make test` builds it with --strict (tests/docs).
DOCS_PORT ?= 8001
docs: install
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:$(DOCS_PORT)

# The directories, then the plan of the AWS root (the functions module's resources
# exist only there: tools/checkov_plan.py).
checkov: package $(CHECKOV)
	$(CHECKOV) -d terraform --compact --quiet --skip-download
	$(BIN)/python -m tools.checkov_plan

# Deploy to AWS with your credentials: make deploy STAGE=homolog (reads terraform/$(STAGE).tfvars;
# docs/deploy.md). The lock file pins the provider with hashes for linux_amd64 only:
# `providers lock` adds this machine's platform (needs the registry) before init.
TF_PLATFORM = $(shell terraform version -json | $(PYTHON) -c 'import json,sys; print(json.load(sys.stdin)["platform"])')
deploy: package
	terraform -chdir=terraform providers lock -platform=$(TF_PLATFORM)
	terraform -chdir=terraform init -input=false
	terraform -chdir=terraform apply -var-file=$(STAGE).tfvars

# 1000 jobs from 50 concurrent clients against a local stack of its own (loopback,
# free ports; stops by itself). Short run: make load ARGS="--jobs 40 --clients 5 --hourly-limit 6"
# Starts at Replicate's pace (about 17 min): make load ARGS=--paced (docs/capacity.md)
load: install
	$(BIN)/python -m tools.load $(ARGS)

# Speed and size figures, each a ratio measured side by side, against their goals (a few minutes).
bench: install
	$(BIN)/python -m tools.bench $(ARGS)

# Manage API keys: make api-key ARGS="--local create --client acme --user user123"
api-key: install-run
	$(BIN)/python -m tools.api_keys $(ARGS)

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .local build .pytest_cache sdk/js/node_modules
