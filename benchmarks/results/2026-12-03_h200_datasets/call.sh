#!/usr/bin/env bash
# call 2 background job, from /tmp/job2 (a copy)
cd /tmp/job2 && source .device/setup.sh > /dev/null
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
common="--data_path=/tmp/datasets --enable_amp=True --epochs=200 --stopping_step=10 --train_positions=all"
P=benchmarks/sasrec_plus.yaml
mkdir -p /tmp/lb
python -m recbole_mamba.leaderboard --out=/tmp/lb/sasplus --parallel=6 $common --seeds=2020 --datasets=Amazon_Sports,Amazon_Toys \
  --models=SASRec:config_files=$P,SASRec:config_files=$P,eval_filter_seen=True,SASRec:config_files=$P,sampled_negatives=0 \
  > /tmp/lb/sasplus.log 2>&1 &
( python -m recbole_mamba.leaderboard --out=/tmp/lb/hscale --parallel=3 $common --seeds=2020 --datasets=Amazon_Toys --epochs=20 --stopping_step=100 \
  --models=HMamba:hyperbolic_score=distance,HMamba:hyperbolic_score=squared_distance,HMamba:variant=half > /tmp/lb/hscale.log 2>&1
  python benchmarks/score_scale.py $(ls /tmp/lb/hscale/ck/*/*.pth | grep -v last) --data_path=/tmp/datasets > /tmp/lb/scale.log 2>&1 ) &
python -m recbole_mamba.leaderboard --out=/tmp/lb/hm5 --parallel=4 $common --seeds=2020 --datasets=Yelp,ml-1m-half-real \
  --models=HMamba:hyperbolic_score=squared_distance,HMamba:variant=half > /tmp/lb/hm5.log 2>&1 &
python -m recbole_mamba.leaderboard --out=/tmp/lb/seeds --parallel=7 $common --seeds=2021,2022 --datasets=Amazon_Toys,Amazon_Sports \
  --models=LatentMamba,SASRec,Mamba4Rec,HMamba:hyperbolic_score=squared_distance > /tmp/lb/seeds.log 2>&1 &
wait
echo ALLDONE
