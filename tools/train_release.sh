#!/usr/bin/env bash
# Trains the shipped weights and the leave-one-lab-out models on this machine's CPU (a GPU is
# only a faster option: DEVICE=cuda), one model after another (two trainings on 2 cores would
# each run at well under half speed), then evaluates them.
#
#   runs/release/all                accad + hdm05 + cmu: the shipped weights (commercial use
#                                   allowed); also the model that never saw Bandai
#   runs/release/all_bandai         accad + hdm05 + cmu + bandai: the non-commercial option
#   runs/release/lolo/<lab>         the other labs without Bandai, <lab> held out
#   runs/release/lolo_bandai/<lab>  the same with Bandai added (does Bandai help? issue 21)
#   runs/release/lolo_w512/<lab>    width 512 for about the wall time of lolo/<lab> (W512_EPOCHS)
#   runs/release/lolo_wide/<lab>    lolo/<lab> with wider joint-definition shifts (WIDE_FLAGS):
#                                   labs put hips and shoulders 0.38-0.53 m apart
#   runs/release/lolo_torso/<lab>  lolo/<lab> with wider trunk, neck and head lengths
#                                   (TORSO_FLAGS): labs put pelvis to thorax 0.38-0.53 m apart
#   runs/release/lolo_width/<lab>  lolo/<lab> with narrower hip and shoulder widths allowed
#                                   (WIDTH_FLAGS): CMU's shoulders are 0.35 m apart, HDM05's 0.47
#   runs/release/lolo_mirror/<lab> lolo/<lab> with half the bodies mirrored (MIRROR_FLAGS)
#   runs/release/lolo_detector/<lab> lolo/<lab> with detector-style 2D errors (DETECTOR_FLAGS):
#                                   noise in proportion to the person, gross joint errors,
#                                   left and right limbs exchanged
#   runs/release/lolo_bend/<lab>   lolo/<lab> with upper bodies bent forward (BEND_FLAGS)
#   runs/release/lolo_full/<lab>   lolo/<lab> at the shipped model's recipe (EPOCHS, default 26)
#                                   rather than LOLO_EPOCHS, with FULL_FLAGS (default none)
#   runs/release/lolo_typicalcam/<lab>  lolo/<lab> with the earlier cameras (up to 45 degrees of
#                                   elevation): what training on views from above changed
#
# Interrupted? Run it again: a finished model (its lifter.pt) is skipped and an unfinished one
# resumes from its last epoch (`train --resume`). Each invocation's wall time is appended to
# runs/release/walltime.tsv (model, seconds, exit status, machine), so a model's CPU wall time is
# the sum of its lines. Needs the caches of `pose-lifting prepare-data` (cache/).
#
# Usage: bash tools/train_release.sh [train|evaluate|both] [MODEL...]
#   MODEL: all, all_bandai, lolo, lolo_bandai, lolo_w512, lolo_wide, lolo_torso, lolo_width, lolo_mirror,
#   lolo_detector, lolo_bend, lolo_full, lolo_typicalcam (default: all lolo
#   lolo_bandai);
#   LAB_LIST (accad hdm05 cmu) limits the leave-one-lab-out folds trained
#   EPOCHS (26) and SAMPLES (300000) set the recipe of `all`; LOLO_EPOCHS (10) that of the
#   leave-one-lab-out models; W512_EPOCHS (25: width 512 ran 2.5-2.8x the samples/s of 1024
#   here, so about the same wall time as LOLO_EPOCHS at 1024); THREADS (2),
#   DEVICE (cpu) and PY may be set.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
EPOCHS=${EPOCHS:-26}
LOLO_EPOCHS=${LOLO_EPOCHS:-10}
W512_EPOCHS=${W512_EPOCHS:-25}
WIDE_FLAGS=${WIDE_FLAGS:---hip-shift-m -0.03 0.08 --shoulder-shift-m -0.10 0.04}
TORSO_FLAGS=${TORSO_FLAGS:---trunk-scale 0.72 1.12 --head-scale 0.6 1.4}
WIDTH_FLAGS=${WIDTH_FLAGS:---hip-width-scale 0.7 1.9 --shoulder-width-scale 0.6 1.8}
MIRROR_FLAGS=${MIRROR_FLAGS:---mirror-fraction 0.5}
DETECTOR_FLAGS=${DETECTOR_FLAGS:---noise-rel 0 0.02 --outlier-joint-fraction 0.02 --side-swap-fraction 0.05}
BEND_FLAGS=${BEND_FLAGS:---bend-fraction 0.1}
FULL_FLAGS=${FULL_FLAGS:-}
SAMPLES=${SAMPLES:-300000}
THREADS=${THREADS:-2}
DEVICE=${DEVICE:-cpu}
R=runs/release
mkdir -p "$R"
LABS=(accad hdm05 cmu)
DEFAULT=accad,hdm05,cmu
FOLDS=${LAB_LIST:-${LABS[*]}}
others() {  # $1 = held-out lab, $2 = extra lab or "" -> the training labs, comma-separated
  local out=(); for d in "${LABS[@]}"; do [ "$d" != "$1" ] && out+=("$d"); done
  [ -n "$2" ] && out+=("$2"); (IFS=,; echo "${out[*]}")
}
wall_of() {  # total recorded seconds of one model
  awk -F'\t' -v m="$1" '$1 == m { s += $2 } END { printf "%d", s }' "$R/walltime.tsv" 2>/dev/null
}
train() {  # $1 = name, $2 = datasets, $3 = epochs, rest = extra flags
  local name=$1 ds=$2 epochs=$3; shift 3
  if [ -f "$R/$name/lifter.pt" ]; then echo "[train_release] $name: done, skipped"; return 0; fi
  mkdir -p "$R/$name"
  local t0=$SECONDS
  OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS "$PY" -m pose_lifting_core.tooling.cli train \
    --datasets "$ds" --out-dir "$R/$name" --export "$R/$name/lifter.pt.part" --epochs "$epochs" \
    --samples-per-epoch "$SAMPLES" --device "$DEVICE" --resume --quiet "$@" \
    >> "$R/$name/train.log" 2>&1
  local rc=$?
  printf '%s\t%d\t%d\t%s\n' "$name" $((SECONDS - t0)) "$rc" "$(nproc) cores, $THREADS threads, $DEVICE" \
    >> "$R/walltime.tsv"
  # only a run that reached its last epoch becomes lifter.pt
  if [ $rc -eq 0 ] && grep -q "\"epoch\": $epochs," "$R/$name/train.log"; then
    mv "$R/$name/lifter.pt.part" "$R/$name/lifter.pt"
  fi
  echo "[train_release] $name: exit $rc, $(wall_of "$name") s in all"
  return $rc
}
folds() {  # $1 = set, $2 = epochs, $3 = extra lab or "", rest = flags: one model per held-out lab
  local set=$1 epochs=$2 extra=$3; shift 3
  for lab in $FOLDS; do
    train "$set/$lab" "$(others "$lab" "$extra")" "$epochs" "$@" || exit 1
  done
}
STAGE=${1:-both}
shift || true
MODELS=("$@")
[ ${#MODELS[@]} -eq 0 ] && MODELS=(all lolo lolo_bandai)
if [ "$STAGE" != evaluate ]; then
  for m in "${MODELS[@]}"; do
    case "$m" in
      all) train all "$DEFAULT" "$EPOCHS" || exit 1 ;;
      all_bandai) train all_bandai "$DEFAULT,bandai" "$EPOCHS" || exit 1 ;;
      lolo) folds lolo "$LOLO_EPOCHS" "" ;;
      # shellcheck disable=SC2086
      lolo_wide) folds lolo_wide "$LOLO_EPOCHS" "" $WIDE_FLAGS ;;
      # shellcheck disable=SC2086
      lolo_torso) folds lolo_torso "$LOLO_EPOCHS" "" $TORSO_FLAGS ;;
      # shellcheck disable=SC2086
      lolo_width) folds lolo_width "$LOLO_EPOCHS" "" $WIDTH_FLAGS ;;
      # shellcheck disable=SC2086
      lolo_mirror) folds lolo_mirror "$LOLO_EPOCHS" "" $MIRROR_FLAGS ;;
      # shellcheck disable=SC2086
      lolo_detector) folds lolo_detector "$LOLO_EPOCHS" "" $DETECTOR_FLAGS ;;
      # shellcheck disable=SC2086
      lolo_bend) folds lolo_bend "$LOLO_EPOCHS" "" $BEND_FLAGS ;;
      # shellcheck disable=SC2086
      lolo_full) folds lolo_full "$EPOCHS" "" $FULL_FLAGS ;;
      lolo_typicalcam) folds lolo_typicalcam "$LOLO_EPOCHS" "" --camera-range typical ;;
      lolo_bandai) folds lolo_bandai "$LOLO_EPOCHS" bandai ;;
      # about the wall time of lolo/<lab> (walltime.tsv)
      lolo_w512) folds lolo_w512 "$W512_EPOCHS" "" --width 512 ;;
      *) echo "unknown model set $m (all, all_bandai, lolo, lolo_bandai, lolo_w512, lolo_wide, lolo_torso, lolo_width, lolo_mirror, lolo_detector, lolo_bend, lolo_full, lolo_typicalcam)" >&2
         exit 2 ;;
    esac
  done
fi
[ "$STAGE" = train ] && exit 0
ev() { OMP_NUM_THREADS=$THREADS "$PY" -m pose_lifting_core.tooling.cli evaluate --device "$DEVICE" --precision fp32 "$@"; }
# the Bandai row of each leave-one-lab-out table: the models that never saw Bandai
for set in lolo lolo_w512; do
  [ -f "$R/all/lifter.pt" ] && [ -d "$R/$set" ] && [ ! -e "$R/$set/bandai" ] && \
    [ "$set" = lolo ] && ln -s ../all "$R/$set/bandai"
done
for set in lolo lolo_bandai lolo_w512 lolo_wide lolo_torso lolo_width lolo_mirror lolo_detector lolo_bend lolo_full lolo_typicalcam; do
  [ -d "$R/$set" ] && ev --leave-one-lab-out "$R/$set" --json "$R/$set.json" > "$R/$set.md" 2>&1
done
for m in all all_bandai; do
  [ -f "$R/$m/lifter.pt" ] && for d in "${LABS[@]}"; do
    ev --checkpoint "$R/$m/lifter.pt" --dataset "$d" --skip-unknown-k --json "$R/${m}_$d.json" > "$R/${m}_$d.md" 2>&1
  done
done
echo "[train_release] done"
