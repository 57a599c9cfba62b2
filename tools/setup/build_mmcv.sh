#!/usr/bin/env bash
# Build (once per machine) and install the full mmcv 2.1.0 with compiled ops into the current Python environment.
#
# mmcv 2.1.0 ships on PyPI only as a source distribution, and its setup.py hard-codes `-std=c++17`, which the headers
# of torch >= 2.14 reject (they need C++20). We unpack the sdist, raise the language standard to C++20, and build a
# wheel with `MMCV_WITH_OPS=1`. The wheel is cached under $DAS_MMSEG_CACHE (default ~/.cache/das_mmseg), keyed by
# python, torch and the compute backend, so a second environment on the same machine installs it in seconds.
#
# CUDA ops are built when a GPU is visible or FORCE_CUDA=1 is set (nvcc must match torch's CUDA); otherwise CPU ops.
#
# Usage: PYTHON=.venv/bin/python tools/setup/build_mmcv.sh
set -euo pipefail

PYTHON=$(command -v "${PYTHON:-python}")
# Absolute (without resolving the venv symlink): the build runs in another directory.
PYTHON="$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")"
MMCV_VERSION=${MMCV_VERSION:-2.1.0}
CACHE_ROOT=${DAS_MMSEG_CACHE:-$HOME/.cache/das_mmseg}

key=$("$PYTHON" - <<'PY'
import os, sys, torch
backend = 'cpu'
if torch.version.cuda and (torch.cuda.is_available() or os.environ.get('FORCE_CUDA') == '1'):
    backend = 'cu' + torch.version.cuda.replace('.', '')
print(f'py{sys.version_info.major}{sys.version_info.minor}-torch{torch.__version__.split("+")[0]}-{backend}')
PY
)
wheel_dir="$CACHE_ROOT/wheels/mmcv-$MMCV_VERSION-$key"

if "$PYTHON" - "$MMCV_VERSION" <<'PY' 2>/dev/null
import sys
import mmcv, mmcv.ops  # noqa: F401  (mmcv.ops imports the compiled mmcv._ext)
sys.exit(0 if mmcv.__version__ == sys.argv[1] else 1)
PY
then
    echo "[build_mmcv] mmcv $MMCV_VERSION with compiled ops is already installed"
    exit 0
fi

wheel=$(ls "$wheel_dir"/mmcv-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
    echo "[build_mmcv] no cached wheel for $key: building mmcv $MMCV_VERSION from source (about 7 min on 2 cores with ninja)"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    "$PYTHON" -m pip download --quiet --no-deps --no-binary :all: "mmcv==$MMCV_VERSION" -d "$work"
    tar -xzf "$work/mmcv-$MMCV_VERSION.tar.gz" -C "$work"
    src="$work/mmcv-$MMCV_VERSION"
    # torch >= 2.14 headers need C++20; C++20 is a superset for mmcv's sources, so raise it unconditionally.
    sed -i "s/-std=c++17/-std=c++20/g" "$src/setup.py"
    grep -q -- "-std=c++20" "$src/setup.py" || { echo "[build_mmcv] could not patch $src/setup.py" >&2; exit 1; }
    mkdir -p "$work/dist"
    (cd "$src" && MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "$PYTHON" -m pip wheel --no-build-isolation --no-deps --quiet . -w "$work/dist")
    mkdir -p "$wheel_dir"
    # Move into place only once complete, so an interrupted build never leaves a broken cached wheel.
    built=$(ls "$work"/dist/mmcv-*.whl)
    cp "$built" "$wheel_dir/.partial.whl"
    mv "$wheel_dir/.partial.whl" "$wheel_dir/$(basename "$built")"
    wheel="$wheel_dir/$(basename "$built")"
fi
echo "[build_mmcv] installing $wheel"
"$PYTHON" -m pip install --quiet --no-deps --force-reinstall "$wheel"
"$PYTHON" -c "import mmcv, mmcv.ops; print('[build_mmcv] mmcv', mmcv.__version__, 'with compiled ops: OK')"
