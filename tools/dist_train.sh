#!/usr/bin/env bash
# Distributed training on GPUS processes per node with torchrun. Without CUDA the processes run on the CPU over gloo.
#   tools/dist_train.sh CONFIG GPUS [tools/train.py arguments]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR and PORT as for mmseg's script.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG GPUS [tools/train.py arguments]" >&2
    exit 2
fi
exec "$(dirname "$0")/dist_run.sh" train.py "$2" "$1" "${@:3}"
