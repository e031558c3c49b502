#!/usr/bin/env bash
# background job, run from /tmp/job1 (a copy of the tree): #31 grid on five datasets, HMamba ml-1m, #33 L=16384 training
cd /tmp/job1 && source .device/setup.sh > /dev/null
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1
common="--data_path=/tmp/datasets --enable_amp=True --epochs=200 --stopping_step=10 --train_positions=all --seeds=2020"
LB="python -m recbole_mamba.leaderboard"
mkdir -p /tmp/lb/grid/runs /tmp/lb/hm1m/runs
cp .device/prev/grid/*.json /tmp/lb/grid/runs/; cp .device/prev/hm1m/*.json /tmp/lb/hm1m/runs/
$LB --out=/tmp/lb/grid --parallel=12 $common --datasets=ml-1m-half-real,Amazon_Toys,Amazon_Sports,Yelp,ml-1m \
  --models=SASRec:hidden_dropout_prob=0.2,attn_dropout_prob=0.2,SASRec:learning_rate=0.002,Mamba4Rec:dropout_prob=0.5,Mamba4Rec:learning_rate=0.002,LatentMamba:dropout_prob=0.5,LatentMamba:learning_rate=0.002,GRU4Rec \
  > /tmp/lb/grid.log 2>&1 &
$LB --out=/tmp/lb/hm1m --parallel=2 $common --datasets=ml-1m --models=HMamba,HMamba:variant=half > /tmp/lb/hm1m.log 2>&1 &
( python benchmarks/bench_objective.py --write /tmp/syn --items 50000 --users 300 --mean_len 16384 > /tmp/lb/syn.log 2>&1
  $LB --out=/tmp/lb/long --parallel=1 --data_path=/tmp/syn --datasets=synthetic --seeds=2020 --enable_amp=True --train_positions=all \
    --epochs=2 --MAX_ITEM_LIST_LENGTH=16384 --train_batch_size_all=8 --eval_batch_size=8 --ce_chunk_size=2048 "--load_col={'inter':['user_id','item_id','timestamp']}" \
    --models=LatentMamba,SASRec >> /tmp/lb/syn.log 2>&1 ) &
wait
echo ALLDONE > /tmp/lb/ALLDONE
