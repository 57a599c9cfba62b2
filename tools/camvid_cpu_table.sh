#!/usr/bin/env bash
# The CPU-scale CamVid table of the README: DAS (GSF-ResNet-18, T = 4) vs the image baseline (ResNet-18, T = 1) on
# the bundled sample (data/camvid_sample: 48 train / 16 val, 180x240), 3 seeds, mean ± std of val mIoU.
# Both are the tiny PSPNet of configs/das_demo.py (16 base channels, output stride 16), trained from scratch on
# 96x96 crops, batch 4, for ITERS iterations on all 48 training images. DAS follows the paper's protocol in two
# stages: search (SEARCH iterations on the 50/50 split, one α step per weight step) -> das_policy.json, then
# training from scratch with that policy on the whole set.
#   tools/camvid_cpu_table.sh [WORK_DIR]       (environment: ITERS=500 SEARCH=50 SEEDS="0 1 2" PYTHON=.venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
WORK=${1:-work_dirs/camvid_cpu_table}
ITERS=${ITERS:-500}
SEARCH=${SEARCH:-50}
SEEDS=${SEEDS:-0 1 2}
schedule() {  # $1 iterations
    echo "train_cfg.max_iters=$1 train_cfg.val_interval=$1 param_scheduler.0.end=$1 default_hooks.checkpoint.interval=$1"
}
miou() {  # the last val mIoU of a log
    grep -o 'Iter(val) \[[0-9]*/[0-9]*\] .*mIoU: [0-9.]*' "$1" | tail -1 | sed 's/.*mIoU: //'
}
mkdir -p "$WORK"
: > "$WORK/results.tsv"
for seed in $SEEDS; do
    dir="$WORK/baseline_seed$seed"
    $PYTHON tools/train.py configs/das_demo_baseline.py --work-dir "$dir" \
        --cfg-options randomness.seed=$seed $(schedule "$ITERS") > "$dir.log" 2>&1
    printf 'baseline\t%s\t%s\n' "$seed" "$(miou "$dir.log")" | tee -a "$WORK/results.tsv"

    dir="$WORK/das_search_seed$seed"
    $PYTHON tools/train.py configs/das_demo.py --work-dir "$dir" \
        --cfg-options randomness.seed=$seed custom_hooks.0.mode=search custom_hooks.0.search_iters=$SEARCH \
        custom_hooks.0.split_seed=$seed $(schedule "$SEARCH") > "$dir.log" 2>&1
    policy="$dir/das_policy.json"
    dir="$WORK/das_seed$seed"
    $PYTHON tools/train.py configs/das_demo.py --work-dir "$dir" \
        --cfg-options randomness.seed=$seed custom_hooks.0.mode=train custom_hooks.0.search_iters=None \
        custom_hooks.0.policy_file="$policy" $(schedule "$ITERS") > "$dir.log" 2>&1
    printf 'das\t%s\t%s\n' "$seed" "$(miou "$dir.log")" | tee -a "$WORK/results.tsv"
done
$PYTHON - "$WORK/results.tsv" <<'PY'
import sys
import numpy as np
rows = [line.split('\t') for line in open(sys.argv[1]).read().split('\n') if line]
print('| model | T | val mIoU (mean ± std over seeds) | per seed |')
print('| --- | --- | --- | --- |')
for name, label, frames in (('baseline', 'ResNet-18 image baseline', 1), ('das', 'DAS GSF-ResNet-18', 4)):
    values = np.array([float(r[2]) for r in rows if r[0] == name])
    print(f'| {label} | {frames} | {values.mean():.2f} ± {values.std(ddof=1) if len(values) > 1 else 0:.2f} | '
          f'{", ".join(f"{v:.2f}" for v in values)} |')
PY
