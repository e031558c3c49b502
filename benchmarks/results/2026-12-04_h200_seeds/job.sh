#!/usr/bin/env bash
# background job, run from /tmp/job1 (a copy of the tree): #31 seeds 2021/2022 of the tuned table (chosen configs are
# the shipped per-dataset defaults); LatentMamba width 64 on ml-1m (3 seeds)
cd /tmp/job1 && source .device/setup.sh > /dev/null
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1
common="--data_path=/tmp/datasets --enable_amp=True --epochs=200 --stopping_step=10 --train_positions=all"
LB="python -m recbole_mamba.leaderboard"
S="--seeds=2021,2022"
$LB --out=/tmp/lb/yelp --parallel=4 $common $S --datasets=Yelp --models=LatentMamba,SASRec > /tmp/lb/yelp.log 2>&1 &
$LB --out=/tmp/lb/sports --parallel=4 $common $S --datasets=Amazon_Sports --models=LatentMamba,SASRec > /tmp/lb/sports.log 2>&1 &
$LB --out=/tmp/lb/toys --parallel=2 $common $S --datasets=Amazon_Toys --models=LatentMamba > /tmp/lb/toys.log 2>&1 &
$LB --out=/tmp/lb/ml --parallel=8 $common $S --datasets=ml-1m-half-real,ml-1m --models=LatentMamba,SASRec,Mamba4Rec,HMamba > /tmp/lb/ml.log 2>&1 &
$LB --out=/tmp/lb/w64 --parallel=1 $common --seeds=2020,2021,2022 --datasets=ml-1m \
  --models=LatentMamba:hidden_size=64,inner_size=256 > /tmp/lb/w64.log 2>&1 &
wait
echo ALLDONE > /tmp/lb/ALLDONE
