# stackferry: `make demo` runs a real migration between two local agents; `make test` runs the suite.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
PROTOS  := proto/stackferry/api/agent/v1/agent.proto proto/stackferry/api/controller/v1/controller.proto

.PHONY: all venv system services proto proto-check lint test bench demo clean

all: venv

$(BIN)/stackferry: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(BIN)/stackferry

system:             ## Debian packages (root)
	bash scripts/install-system.sh

services: system    ## zfs-fuse, two dockerd, PostgreSQL (root)
	bash scripts/start-services.sh

proto: venv         ## regenerate src/stackferry/api from proto/
	$(BIN)/python -m grpc_tools.protoc -Iproto --python_out=src --pyi_out=src --grpc_python_out=src $(PROTOS)

proto-check: venv   ## fails when the checked-in generated code differs from proto/
	bash scripts/proto-check.sh $(BIN)/python

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy src/stackferry tests bench scripts

# Three workers, each taking the next test as it frees up (worksteal): the real tests mostly
# wait on zfs-fuse, dockerd and the agents, so three fit on two cores (12 min here, 25 in
# one). Every test makes its own pools, projects, ports and schema. TEST_WORKERS=0: in one.
TEST_WORKERS ?= 3
test: venv services proto-check
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist worksteal --durations=25 tests

bench: venv services
	$(BIN)/python bench/transfer.py

demo: venv services
	$(BIN)/python scripts/demo.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
