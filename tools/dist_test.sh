#!/usr/bin/env bash
# Distributed testing on GPUS processes per node with torchrun. Without CUDA the processes run on the CPU over gloo.
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS [tools/test.py arguments]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR and PORT as for mmseg's script.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT GPUS [tools/test.py arguments]" >&2
    exit 2
fi
exec "$(dirname "$0")/dist_run.sh" test.py "$3" "$1" "$2" "${@:4}"
