#!/usr/bin/env bash
# Trains the shipped weights and the leave-one-lab-out models, and evaluates them (issue 13).
# Seven runs in parallel (one GPU and 16 cores were used; docs/BENCHMARKS.md):
#   runs/release/all          bandai + accad + hdm05 (the shipped pose_lifting_core/weights/lifter.pt)
#   runs/release/lolo/<lab>   the two other labs           (leave-one-lab-out)
#   runs/release/nodef/<lab>  the same without the joint-definition augmentation (its ablation),
#                             or with VARIANT="flags": runs/release/variant/<lab> and variant_all
# Needs the caches from `pose-lifting prepare-data` in cache/. Outputs: runs/release/*.json, logs.
# Usage: bash tools/train_release.sh [train|evaluate|both]   (EPOCHS, SAMPLES, BUDGET_S, DEVICE, PY
# may be set; BUDGET_S stops each run before an epoch that would end past it)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
EPOCHS=${EPOCHS:-24}
SAMPLES=${SAMPLES:-300000}
BUDGET_S=${BUDGET_S:-0}
DEVICE=${DEVICE:-auto}
EXTRA=${EXTRA:-}
R=runs/release
mkdir -p "$R"
labs=(bandai accad hdm05)
others() { local out=(); for d in "${labs[@]}"; do [ "$d" != "$1" ] && out+=("$d"); done; (IFS=,; echo "${out[*]}"); }
train() {  # $1 = name, $2 = datasets, rest = extra flags
  local name=$1 ds=$2; shift 2
  mkdir -p "$R/$name"
  OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 "$PY" -m pose_lifting_core.cli train --datasets "$ds" \
    --out-dir "$R/$name" --export "$R/$name/lifter.pt" --epochs "$EPOCHS" --samples-per-epoch "$SAMPLES" \
    --device "$DEVICE" --time-budget-s "$BUDGET_S" --quiet $EXTRA "$@" > "$R/$name/train.log" 2>&1
  echo "[train_release] $name: exit $? $(tail -1 "$R/$name/train.log")"
}
STAGE=${1:-both}
VARIANT=${VARIANT:-}          # extra train flags of a second configuration, compared by LOLO
if [ "$STAGE" != evaluate ]; then
pids=()
train all bandai,accad,hdm05 & pids+=($!)
for lab in "${labs[@]}"; do
  train "lolo/$lab" "$(others "$lab")" & pids+=($!)
  if [ -n "$VARIANT" ]; then
    train "variant/$lab" "$(others "$lab")" $VARIANT & pids+=($!)
  else
    train "nodef/$lab" "$(others "$lab")" --no-joint-offsets & pids+=($!)
  fi
done
[ -n "$VARIANT" ] && { train variant_all bandai,accad,hdm05 $VARIANT & pids+=($!); }
wait "${pids[@]}"
fi
[ "$STAGE" = train ] && exit 0
ev() { OMP_NUM_THREADS=4 "$PY" -m pose_lifting_core.cli evaluate --device "$DEVICE" --precision fp32 "$@"; }
ev --leave-one-lab-out "$R/lolo" --json "$R/lolo.json" > "$R/lolo.md" 2>&1 &
second=nodef; [ -n "$VARIANT" ] && second=variant
ev --leave-one-lab-out "$R/$second" --json "$R/$second.json" > "$R/$second.md" 2>&1 &
[ -n "$VARIANT" ] && ev --checkpoint "$R/variant_all/lifter.pt" --dataset bandai --skip-unknown-k \
  --json "$R/variant_all_bandai.json" > "$R/variant_all_bandai.md" 2>&1 &
for d in "${labs[@]}"; do
  ev --checkpoint "$R/all/lifter.pt" --dataset "$d" --skip-unknown-k --json "$R/all_$d.json" > "$R/all_$d.md" 2>&1 &
done
wait
echo "[train_release] done"
