# Deep-learning course kit. Quick start: `make release`, `make test`.
# Every target creates .venv (from Debian's python3.11 when present, so that an
# unprivileged sandbox user can run it too) and installs the pinned dependencies.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BASE_PYTHON ?= $(shell if [ -x /usr/bin/python3.11 ]; then echo /usr/bin/python3.11; else echo python3; fi)
STAMP := $(VENV)/.installed-stamp
ASSIGNMENTS ?=
SEEDS ?=
SEEDS_ARG := $(if $(SEEDS),--seeds $(SEEDS))

.PHONY: help venv test starter fixtures check release bench clean digits-cnn a2-mymodel

help:
	@echo "make release   build dist/<id>-student.zip and dist/<id>-autograder.zip, then self-check them"
	@echo "make test      run the kit's test suite"
	@echo "make starter   regenerate student_starter/ from solutions/"
	@echo "make fixtures  regenerate the public fixtures (tests/fixtures/) from tests/cases.py and the oracles"
	@echo "make check     self-check every assignment (reference full marks, starter 0, mistakes caught)"
	@echo "make bench     print grading benchmarks"
	@echo "make digits-cnn  retrain A3's digits CNN weights (committed; reproducible)"
	@echo "make a2-mymodel  retrain A2's reference MyModel checkpoint on digits (committed; the self-check grades it)"

$(STAMP): pyproject.toml
	@if [ ! -x $(PY) ]; then echo "creating $(VENV) with $(BASE_PYTHON)"; $(BASE_PYTHON) -m venv $(VENV); fi
	$(PY) -m pip install --quiet --disable-pip-version-check -e . 2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
	$(PY) -c "import autograder, numpy, torch, torchvision, captum, pytest, nbformat, nbclient, ipykernel, jsonschema" \
		|| { echo "error: dependencies failed to install into $(VENV); see pip's output above, then run make again"; exit 1; }
	@touch $@

venv: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest tests -q -ra

starter: $(STAMP)
	$(PY) -m autograder starter

fixtures: $(STAMP)
	$(PY) -m autograder fixtures $(ASSIGNMENTS)

check: $(STAMP)
	$(PY) -m autograder check $(ASSIGNMENTS) $(SEEDS_ARG)

release: $(STAMP)
	$(PY) -m autograder release $(ASSIGNMENTS) $(SEEDS_ARG)

bench: $(STAMP)
	$(PY) bench/bench_grading.py
	$(PY) bench/bench_a1_training.py
	$(PY) bench/bench_adversarial.py
	$(PY) bench/bench_a2_conv.py
	$(PY) bench/bench_a4_transformer.py
	$(PY) bench/bench_batch.py
	$(PY) bench/bench_release.py --seeds 1

digits-cnn: $(STAMP)  ## retrain A3's small digits CNN (deterministic) into solutions/a3_interpret/interpret/weights/
	$(PY) assignments/a3_interpret/tools/train_digits_cnn.py
	$(PY) -m autograder starter a3_interpret

clean:
	rm -rf dist build *.egg-info

a2-mymodel: $(STAMP)  ## retrain A2's reference MyModel on digits into solutions/a2_cnn/cnn/mymodel.pt
	$(PY) assignments/a2_cnn/tools/train_mymodel.py
