# cinderkit.storage - make demo | make test | make bench
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest
COLL := $(ROOT)/.build/collections
export ANSIBLE_COLLECTIONS_PATH := $(COLL)
export ANSIBLE_PYTHON_INTERPRETER := $(PY)
export ANSIBLE_LOCALHOST_WARNING := False
export ANSIBLE_INVENTORY_UNPARSED_WARNING := False
export ANSIBLE_NOCOLOR := 1
export PATH := $(VENV)/bin:$(PATH):/usr/sbin:/sbin

.PHONY: help setup deps venv link demo test units compliance sanity lint build docs ee host contract matrix vm playbooks ceph molecule bench bench-quick clean

help:
	@echo "make demo        set up, then run the demo (loop-device VG, volumes, snapshot, clone, extend, CHAP export, backend facts)"
	@echo "make test        set up, then run every tier (host, VM, benchmarks-quick) with a summary"
	@echo "make bench       full benchmark suite (N = 10, 100, 1000; medians of 3)"
	@echo "make docs        HTML collection docs (antsibull-docs + Sphinx) into .build/docs/build/html/index.html"
	@echo "tiers: units compliance sanity lint build docs host contract matrix vm playbooks ceph molecule bench-quick (and ee)"

setup: deps venv link

deps:
	@tests/harness/deps.sh

venv:
	@tests/harness/venv.sh

link:
	@tests/harness/link.sh

demo: setup
	@tests/harness/demo.sh

test: setup
	@tests/harness/test.sh

units: link
	$(PYTEST) -q tests/unit

compliance: link
	$(PYTEST) -q tests/unit/plugins/module_utils/test_compliance.py

sanity: link
	@tests/harness/sanity.sh

lint: link
	@tests/harness/lint.sh

build: link
	@tests/harness/build.sh

docs: link
	@tests/harness/docs.sh

ee: link
	@tests/harness/ee.sh

host: link
	$(PYTEST) -q -ra tests/integration/host

matrix: link
	@tests/harness/matrix.sh

contract: link
	$(PYTEST) -q -ra tests/integration/contract

ceph: link
	$(PYTEST) -q -ra -m ceph tests/integration/host

vm: link
	@tests/harness/vm-tier.sh

playbooks: link
	@tests/harness/vm-tier.sh tests/integration/guest

molecule: link
	@tests/harness/molecule.sh

bench: setup
	@bench/run.sh

bench-quick: link
	@BENCH_QUICK=1 bench/run.sh

clean:
	rm -rf .build tests/output
