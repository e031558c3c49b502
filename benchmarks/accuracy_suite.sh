#!/usr/bin/env bash
# Issue #7: every model trained to early stopping on ml-1m, several runs at once, resumable across device sessions.
# On a machine with several GPUs the runs are dealt out round-robin (GPUS overrides the count nvidia-smi gives). Usage (GPU machine, repo root, after `source .device/setup.sh`):
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
set -u
DIR=${1:-/tmp/acc}
DATA=${DATA_PATH:-/tmp/datasets}
RUNS=${RUNS-"LatentMamba:2020 LatentMamba:2021 LatentMamba:2022 SASRec:2020 SASRec:2021 SASRec:2022 HMamba:2020 HMamba-half:2020 Mamba4Rec:2020 BERT4Rec:2020 GRU4Rec:2020"}
EXTRA=${EXTRA-""}
GPUS=${GPUS:-$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')}; [ "$GPUS" -ge 1 ] 2>/dev/null || GPUS=1
export PYTHONUNBUFFERED=1
mkdir -p "$DIR/logs" "$DIR/ck"
slot=0
for run in $RUNS; do
  IFS=: read -r name seed opts <<< "$run"; model=${name%%-*}
  variant=""; [ "$name" = "HMamba-half" ] && variant="--variant=half"
  loader=""; [ "$model" = "BERT4Rec" ] && loader="--worker=${MASK_WORKERS:-8}"
  spelled=${opts//=/-}; tag="${name}_${seed}${opts:+_${spelled//,/_}}"
  own=${opts:+--${opts//,/ --}}  # a=1,b=2 -> --a=1 --b=2
  ck="$DIR/ck/$tag"; log="$DIR/logs/$tag.log"
  mkdir -p "$ck"
  if grep -q "test result:" "$log" 2>/dev/null; then echo "$(date -u +%FT%TZ) $tag has finished: skipped"; continue; fi
  gpu=$((slot % GPUS)); slot=$((slot + 1))
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
done
wait
echo "$(date -u +%FT%TZ) all runs ended"
