#!/usr/bin/env bash
# Time to accuracy, prefix (`last`) vs every-position (`all`) training, on the dev datasets, one GPU, runs side by
# side (PARALLEL at once), bf16, early stopping; a leaderboard per group in $OUT/<group>/ (tables, runs.csv, logs).
#   bash benchmarks/time_to_accuracy.sh OUT [DATA_PATH]      (GPU machine, repo root, after source .device/setup.sh)
set -u
OUT=${1:-/tmp/tta}; DATA=${2:-/tmp/datasets}; SEEDS=${SEEDS:-2020}
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=${THREADS:-1}
common="--data_path=$DATA --seeds=$SEEDS --enable_amp=True --epochs=200 --stopping_step=10"
# Amazon: both objectives for SASRec (RecBole's defaults) and LatentMamba, `all` for the other Mamba models
python -m recbole_mamba.leaderboard --out="$OUT/amazon" --parallel=${PARALLEL_A:-10} $common \
  --datasets=Amazon_Sports,Amazon_Toys \
  --models=SASRec,LatentMamba,SASRec:train_positions=all,SASRec:train_positions=all,sampled_negatives=256,LatentMamba:train_positions=all,Mamba4Rec:train_positions=all,HMamba:train_positions=all \
  > "$OUT.amazon.log" 2>&1 &
# long histories (L=200) and Yelp: `all` only (a `last` run of LatentMamba there takes 30+ minutes)
python -m recbole_mamba.leaderboard --out="$OUT/long" --parallel=${PARALLEL_B:-6} $common \
  --datasets=ml-1m-half-real,Yelp,ml-1m \
  --models=LatentMamba:train_positions=all,SASRec:train_positions=all,Mamba4Rec:train_positions=all,HMamba:train_positions=all \
  > "$OUT.long.log" 2>&1 &
wait
