#!/usr/bin/env bash
# Issue #7: every model trained to early stopping on ml-1m, several runs at once, resumable across device sessions.
# On a machine with several GPUs the runs are dealt out round-robin (GPUS overrides the count nvidia-smi gives; PER_GPU
# below queues them). GPU_IDS=2,3 gives the suite those GPUs only, e.g. to leave the others to tuning_screen.sh.
# Usage (GPU machine, repo root, after `source .device/setup.sh`):
#   setsid nohup bash benchmarks/accuracy_suite.sh /tmp/acc > /tmp/acc/suite.log 2>&1 < /dev/null &
# Each run NAME:SEED writes $DIR/logs/NAME_SEED.log and checkpoints under $DIR/ck/NAME_SEED/. When a run's
# `*-last.pth` is already there (carried back from an earlier session into $DIR/ck/NAME_SEED/), the run resumes
# from it (same settings, random states restored) and appends to its log; a run whose log holds its test result has
# finished and is skipped. A log with no checkpoint beside it is renamed to NAME_SEED.log.<time>.orphan, not
# overwritten, and the run starts afresh. Collect the table with
#   python benchmarks/collect_results.py $DIR/logs/*.log
# NAME is a model, or HMamba-half for HMamba's half variant. RUNS and EXTRA (more --key=value for all) override.
# A run may carry its own settings as a third field, NAME:SEED:key=value,key=value (e.g. LatentMamba:2020:learning_rate=0.003);
# they are passed as --key=value and become part of the run's name, with "=" and "," spelled "-" and "_" so that
# the device tool brings the files back (LatentMamba_2020_learning_rate-0.003).
# BERT4Rec gets --worker=$MASK_WORKERS (default 8): RecBole masks its training batches in a Python loop on the CPU,
# 0.19 s per batch of 2048 on ml-1m (2-core CPU machine), which in the main process bounds an epoch to 90 s or more
# whatever the GPU does; loader workers do it in parallel (benchmarks/bert4rec_masking.py measures it). The masks are
# drawn from the same distribution, in worker processes seeded from the loader's generator, which checkpoints restore.
# PER_GPU=N queues the runs instead: at most N train on a GPU at once, and each further run starts, in RUNS order, on
# the least busy GPU as soon as one has room, so a GPU that an early-stopped run frees does not idle for the rest of a
# lease. A file $DIR/STOP (stop_runs.sh writes it when it stops every run) ends the queue: no further run starts.
# Default PER_GPU=0: every run at once, dealt out round-robin.
# THREADS=N caps each run's CPU threads (OMP_NUM_THREADS, MKL_NUM_THREADS; the training math is on the GPU, so results
# do not change): by default every run starts as many as the machine has cores, four runs 4x oversubscribing an
# x4 host, where session 14's GPUs idled 12-51% of the time. Unset: torch's default.
set -u
DIR=${1:-/tmp/acc}
DATA=${DATA_PATH:-/tmp/datasets}
# LatentMamba:SEED on ml-1m is width 128 since session 15 (properties/model/LatentMamba/ml-1m.yaml); the width-64
# runs of docs/results.md's first table need LatentMamba:SEED:hidden_size=64,inner_size=256.
RUNS=${RUNS-"LatentMamba:2020 LatentMamba:2021 LatentMamba:2022 SASRec:2020 SASRec:2021 SASRec:2022 HMamba:2020 HMamba-half:2020 Mamba4Rec:2020 BERT4Rec:2020 GRU4Rec:2020"}
EXTRA=${EXTRA-""}
. "$(cd "$(dirname "$0")" && pwd)/gpu_ids.sh"  # ids, GPUS
PER_GPU=${PER_GPU:-0}
export PYTHONUNBUFFERED=1
if [ -n "${THREADS:-}" ]; then export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS; fi
mkdir -p "$DIR/logs" "$DIR/ck"
slot=0
declare -A on_gpu  # GPU id -> pids of the runs started on it

pick_gpu() {  # sets gpu: round-robin, or under PER_GPU the least busy GPU with room (waits for one; fails on STOP)
  if [ "$PER_GPU" -le 0 ]; then gpu=${ids[$((slot % GPUS))]}; slot=$((slot + 1)); return 0; fi
  local g p live n best fewest waited=""
  while :; do
    [ -e "$DIR/STOP" ] && return 1
    best=""; fewest=$PER_GPU
    for g in "${ids[@]}"; do
      live=""; for p in ${on_gpu[$g]:-}; do kill -0 "$p" 2>/dev/null && live="$live $p"; done
      on_gpu[$g]=$live; n=$(wc -w <<< "$live")
      if [ "$n" -lt "$fewest" ]; then best=$g; fewest=$n; fi
    done
    [ -n "$best" ] && { gpu=$best; return 0; }
    [ -z "$waited" ] && { echo "$(date -u +%FT%TZ) $tag waits for a GPU ($PER_GPU run(s) on each)"; waited=1; }
    sleep "${QUEUE_POLL:-20}"
  done
}
for run in $RUNS; do
  IFS=: read -r name seed opts <<< "$run"; model=${name%%-*}
  variant=""; [ "$name" = "HMamba-half" ] && variant="--variant=half"
  loader=""; [ "$model" = "BERT4Rec" ] && loader="--worker=${MASK_WORKERS:-8}"
  spelled=${opts//=/-}; tag="${name}_${seed}${opts:+_${spelled//,/_}}"
  own=${opts:+--${opts//,/ --}}  # a=1,b=2 -> --a=1 --b=2
  ck="$DIR/ck/$tag"; log="$DIR/logs/$tag.log"
  if grep -q "test result:" "$log" 2>/dev/null; then echo "$(date -u +%FT%TZ) $tag has finished: skipped"; continue; fi
  pick_gpu || { echo "$(date -u +%FT%TZ) $DIR/STOP is there: $tag and the runs after it not started"; break; }
  mkdir -p "$ck"
  # RecBole sets CUDA_VISIBLE_DEVICES from gpu_id, which CUDA ignores once anything in the process has touched it, so
  # the suite sets it too, before the process starts; the two agree, so --gpu_id still names the same GPU.
  last=$(ls -t "$ck"/*-last.pth 2>/dev/null | head -1)
  if [ -n "$last" ]; then
    echo "$(date -u +%FT%TZ) resume $tag from $last on GPU $gpu"
    CUDA_VISIBLE_DEVICES=$gpu python run_recbole_mamba.py --resume="$last" --data_path="$DATA" --checkpoint_dir="$ck" --gpu_id=$gpu $EXTRA >> "$log" 2>&1 &
  else
    if [ -s "$log" ]; then  # a log without a checkpoint to resume (e.g. lost): keep it, the new run starts afresh
      old="$log.$(date -u +%Y%m%dT%H%M%S).orphan"; mv "$log" "$old"; echo "$(date -u +%FT%TZ) kept $tag's earlier log as $old"
    fi
    echo "$(date -u +%FT%TZ) start $tag on GPU $gpu"
    CUDA_VISIBLE_DEVICES=$gpu python run_recbole_mamba.py --model="$model" $variant --dataset=ml-1m --data_path="$DATA" --seed="$seed" \
      --epochs=300 --stopping_step=10 --topk="[10,20]" --show_progress=False --checkpoint_dir="$ck" --gpu_id=$gpu $loader $EXTRA $own \
      > "$log" 2>&1 &
  fi
  on_gpu[$gpu]="${on_gpu[$gpu]:-} $!"
done
wait
echo "$(date -u +%FT%TZ) all runs ended"
