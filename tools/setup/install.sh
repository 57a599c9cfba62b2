#!/usr/bin/env bash
# Set up the project's environment in .venv (or $VENV): torch, the OpenMMLab stack, mmcv with compiled ops (built once
# per machine and cached), and das_mmseg in editable mode. Each step is skipped when already done; `make env` calls
# this only when requirements/, setup.py or this script changed since the last successful run.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-.venv}
PYTHON_BIN=${PYTHON_BIN:-python3}

if [ ! -x "$VENV/bin/python" ]; then
    echo "[install] creating virtual environment $VENV"
    "$PYTHON_BIN" -m venv "$VENV"
fi
PY="$VENV/bin/python"
# pip's exit status is kept; only the noise of this machine's local index is filtered from stderr.
pip_install() { "$PY" -m pip install --quiet --disable-pip-version-check "$@" 2> >(grep -v "^WARNING: Location" >&2); }

echo "[install] torch, torchvision and build requirements"
pip_install -r requirements/torch.txt -r requirements/build.txt
"$PY" -c "import torch, torchvision" || { echo "[install] torch/torchvision failed to install" >&2; exit 1; }

PYTHON="$PY" tools/setup/build_mmcv.sh

echo "[install] OpenMMLab packages, test and lint requirements and das_mmseg (editable)"
pip_install -r requirements/runtime.txt -r requirements/tests.txt -r requirements/lint.txt
pip_install --no-build-isolation --no-deps -e .
"$PY" -c "import das_mmseg, mmseg, mmpretrain; print('[install] das_mmseg', das_mmseg.__version__, 'ready')"
