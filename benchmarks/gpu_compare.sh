#!/usr/bin/env bash
# The side-by-side comparison on ml-1m (issue #5) and the end-to-end timings (issue #6) on a GPU
# machine, in the background, one model after another (clean s/epoch), then the bf16 (enable_amp) runs.
# Usage (GPU machine, repo root, after `source .device/setup.sh`):
#   setsid nohup bash benchmarks/gpu_compare.sh /tmp/cmp > /tmp/cmp.log 2>&1 &
# Writes $DIR/fp32/comparison.{md,csv,png}, $DIR/bf16/..., and one log per model.
set -u
DIR=${1:-/tmp/cmp}; EPOCHS=${EPOCHS:-2}
DATA=${DATA_PATH:-/tmp/datasets}
MODELS=${MODELS-"LatentMamba,HMamba,Mamba4Rec,SASRec,GRU4Rec,BERT4Rec"}
AMP_MODELS=${AMP_MODELS-"LatentMamba,HMamba,Mamba4Rec"}
export PYTHONUNBUFFERED=1
mkdir -p "$DIR"
common="--dataset=ml-1m --data_path=$DATA --show_progress=False --epochs=$EPOCHS --checkpoint_dir=$DIR/saved"
echo "fp32 start $(date -u +%FT%TZ)"
[ -n "$MODELS" ] && python run_recbole_mamba.py --model_list=$MODELS $common --compare_dir=$DIR/fp32 > "$DIR/fp32.log" 2>&1
echo "fp32 exit $? $(date -u +%FT%TZ)"
[ -n "$AMP_MODELS" ] && python run_recbole_mamba.py --model_list=$AMP_MODELS $common --enable_amp=True \
  --compare_dir=$DIR/bf16 > "$DIR/bf16.log" 2>&1
echo "bf16 exit $? $(date -u +%FT%TZ)"
