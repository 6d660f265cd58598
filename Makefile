# VSL Media. `make run` starts the whole service locally; `make test` runs every test.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements*.txt | sha1sum | cut -c1-12)

.PHONY: install run test unit api-key clean

$(STAMP):
	rm -f $(VENV)/.installed-*
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip<26.3'
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(STAMP)

run: install
	$(BIN)/python -m local.stack

test: install
	$(BIN)/python -m pytest

unit: install
	$(BIN)/python -m pytest tests/unit

clean:
	rm -rf $(VENV) .local .pytest_cache

# Manage API keys: make api-key ARGS="--local create --client acme --user user123"
api-key: install
	$(BIN)/python -m tools.api_keys $(ARGS)
