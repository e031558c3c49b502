#!/usr/bin/env bash
# call 1 background job, run from /tmp/job1 (a copy): Amazon exploration + ml-1m-half-real width 128
cd /tmp/job1 && source .device/setup.sh > /dev/null
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
common="--data_path=/tmp/datasets --seeds=2020 --enable_amp=True --epochs=200 --stopping_step=10 --train_positions=all"
P=benchmarks/sasrec_plus.yaml
python -m recbole_mamba.leaderboard --out=/tmp/lb/amazon --parallel=16 $common --datasets=Amazon_Sports,Amazon_Toys \
  --models=SASRec:config_files=$P,SASRec:config_files=$P,eval_filter_seen=True,SASRec:config_files=$P,sampled_negatives=0,LatentMamba:hidden_size=256,inner_size=512,Mamba4Rec:hidden_size=256,inner_size=512,HMamba:hyperbolic_score=squared_distance,HMamba:learn_temperature=True,HMamba:variant=half \
  > /tmp/lb/amazon.log 2>&1 &
python -m recbole_mamba.leaderboard --out=/tmp/lb/extra --parallel=4 $common --datasets=Amazon_Toys \
  --models=HMamba:hyperbolic_score=squared_distance,learn_temperature=True,LatentMamba:train_batch_size_all=512 \
  > /tmp/lb/extra.log 2>&1 &
python -m recbole_mamba.leaderboard --out=/tmp/lb/real --parallel=2 $common --datasets=ml-1m-half-real \
  --models=LatentMamba:hidden_size=128,inner_size=512,Mamba4Rec:hidden_size=128,inner_size=512 \
  > /tmp/lb/real.log 2>&1 &
wait
echo ALLDONE
