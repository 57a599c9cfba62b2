# One entry point. `make demo` runs the main job on the bundled sample; `make test` runs the test suite, `make test-fast`
# its unit layer (no Runner, no subprocess); `make lint` runs the lint gate (pre-commit: flake8, isort, yapf). Each
# sets up .venv first, and only when requirements/, setup.py or the install scripts changed since the last set-up.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.das_mmseg_installed
PYTEST_ARGS ?=

.PHONY: env demo test test-fast lint benchmark gpu-check evidence clean
env: $(STAMP)

$(STAMP): requirements/torch.txt requirements/build.txt requirements/runtime.txt requirements/tests.txt \
          requirements/lint.txt setup.py \
          tools/setup/install.sh tools/setup/build_mmcv.sh
	VENV=$(VENV) tools/setup/install.sh
	touch $(STAMP)

DEMO_CONFIG := configs/das/das-pspnet_gsf-r18tiny-d16-t4_1xb4-300iter_camvid-sample-96x96.py
# One intra-op thread unless OMP_NUM_THREADS says otherwise: the demo's tensors are tiny, and on a busy 2-core machine
# two spinning OpenMP threads made it about 20 times slower (measured: 5 s instead of 0.2 s per iteration).
demo: env
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) tools/train.py $(DEMO_CONFIG) --work-dir work_dirs/demo

# The tests' models are tiny too, and their tools run as subprocesses: one thread each, for the same reason. Two
# pytest workers (pytest-xdist; a test module stays on one worker, its fixtures with it) use both cores of a 2-core
# machine; PYTEST_WORKERS=0 runs them in one process.
PYTEST_WORKERS ?= 2
test: env
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) -m pytest tests -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-fast: env
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) -m pytest tests -m "not slow" $(PYTEST_ARGS)

lint: env
	$(VENV)/bin/pre-commit run --all-files --show-diff-on-failure

benchmark: env
	$(PY) tools/benchmark.py foundation

# The first command on a GPU machine (README, "On a GPU"): every check, one JSON report; skips what the machine lacks.
gpu-check: env
	$(PY) tools/check_gpu.py --out work_dirs/check_gpu

# The CamVid ablation (README, "CamVid evidence"): the default arms and seeds, resumable; CAMVID is the SegNet release.
CAMVID ?= ../shared/data/camvid
evidence: env
	$(PY) tools/camvid_evidence.py $(CAMVID) --jobs 2

clean:
	rm -rf work_dirs .pytest_cache
