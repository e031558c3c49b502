#!/usr/bin/env bash
# Trains models on ml-1m through run_recbole_mamba.py on a GPU machine, in the background.
#   phase A (sequential, clean timings): every model for $EPOCHS_A epochs, one after another
#   phase B (concurrent, accuracy): every model to early stopping (or until the machine goes back)
# Usage (GPU machine, repo root, after `source .device/setup.sh`):
#   setsid nohup bash benchmarks/gpu_train_suite.sh /tmp/runs > /tmp/runs/suite.log 2>&1 &
# Logs: $LOGDIR/A_<model>.log, $LOGDIR/B_<model>.log; `tar czf` them to bring them back.
set -u
LOGDIR=${1:-/tmp/runs}; EPOCHS_A=${EPOCHS_A:-3}
DATA=${DATA_PATH:-/tmp/datasets}
MODELS_A=${MODELS_A-"LatentMamba SASRec HMamba Mamba4Rec"}  # set MODELS_A="" to skip phase A
MODELS_B=${MODELS_B-"LatentMamba SASRec HMamba Mamba4Rec"}  # set MODELS_B="" to skip phase B
mkdir -p "$LOGDIR"
export PYTHONUNBUFFERED=1
common="--dataset=ml-1m --data_path=$DATA --show_progress=False"
echo "phase A start $(date -u +%FT%TZ)"
for m in $MODELS_A; do
  python run_recbole_mamba.py --model=$m $common --epochs=$EPOCHS_A --checkpoint_dir=$LOGDIR/saved_A \
    > "$LOGDIR/A_$m.log" 2>&1
  echo "A $m exit $? $(date -u +%FT%TZ)"
done
echo "phase B start $(date -u +%FT%TZ)"
for m in $MODELS_B; do
  python run_recbole_mamba.py --model=$m $common --epochs=300 --stopping_step=10 --checkpoint_dir=$LOGDIR/saved_B \
    > "$LOGDIR/B_$m.log" 2>&1 &
done
wait
echo "phase B done $(date -u +%FT%TZ)"
