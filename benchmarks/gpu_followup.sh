#!/usr/bin/env bash
# Session-1 follow-up on the GPU machine: once phase A of gpu_train_suite.sh is done, stop its
# phase B, re-time LatentMamba (HeadwiseLinear fix) alone, then train all models concurrently.
set -u
LOGDIR=${1:-/tmp/runs}; DATA=${DATA_PATH:-/tmp/datasets}
export PYTHONUNBUFFERED=1
until grep -q "phase B start" "$LOGDIR/suite.log"; do sleep 5; done
pkill -f gpu_train_suite.sh; pkill -f "epochs=300"; sleep 3
common="--dataset=ml-1m --data_path=$DATA --show_progress=False"
echo "A2 start $(date -u +%FT%TZ)"
python run_recbole_mamba.py --model=LatentMamba $common --epochs=3 --checkpoint_dir=$LOGDIR/saved_A > "$LOGDIR/A2_LatentMamba.log" 2>&1
echo "A2 LatentMamba exit $? $(date -u +%FT%TZ)"
for m in LatentMamba SASRec HMamba Mamba4Rec; do
  python run_recbole_mamba.py --model=$m $common --epochs=300 --stopping_step=10 --checkpoint_dir=$LOGDIR/saved_B \
    > "$LOGDIR/B_$m.log" 2>&1 &
done
wait
