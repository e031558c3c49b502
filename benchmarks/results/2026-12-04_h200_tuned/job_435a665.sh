#!/usr/bin/env bash
# background job of the first call (code of commit 435a665), run from /tmp/job1 (a copy of the tree): #31 grid,
# #32 text and union, #33 L=16384 training. The GPU machine was taken back after one 527 s call: what had finished
# then is in grid/ (8 runs, carried into job.sh), hm1m/ (HMamba half), treal/, t100k/, tunion/; the two L=16,384 runs
# were killed by host memory (RecBole's augmentation: 5.2M interactions x 16,384).
# .device/text_real.yaml:  text_fields: [movie_title, release_year, genre]        text_cache_dir: .device/textcache
# .device/text_100k.yaml:  text_fields: [movie_title, release_year, class]        text_cache_dir: .device/textcache
# .device/text_union.yaml: text_fields: [movie_title, release_year, class, genre] text_cache_dir: .device/textcache
# (the caches: frozen all-MiniLM-L6-v2 vectors computed on the CPU machine, recbole_mamba.item_text)
cd /tmp/job1 && source .device/setup.sh > /dev/null
cp -r /tmp/site/recbole/dataset_example/ml-100k /tmp/datasets/ 2>/dev/null
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1
common="--data_path=/tmp/datasets --enable_amp=True --epochs=200 --stopping_step=10 --train_positions=all --seeds=2020"
LB="python -m recbole_mamba.leaderboard"
mkdir -p /tmp/lb
$LB --out=/tmp/lb/grid --parallel=12 $common --datasets=Amazon_Toys,Amazon_Sports,ml-1m-half-real \
  --models=SASRec:hidden_dropout_prob=0.2,attn_dropout_prob=0.2,SASRec:learning_rate=0.002,Mamba4Rec:dropout_prob=0.5,Mamba4Rec:learning_rate=0.002,LatentMamba:dropout_prob=0.5,LatentMamba:learning_rate=0.002,GRU4Rec \
  > /tmp/lb/grid.log 2>&1 &
$LB --out=/tmp/lb/hm1m --parallel=2 $common --datasets=ml-1m --models=HMamba,HMamba:variant=half > /tmp/lb/hm1m.log 2>&1 &
$LB --out=/tmp/lb/treal --parallel=3 $common --datasets=ml-1m-half-real \
  --models=LatentMamba:config_files=.device/text_real.yaml,LatentMamba:config_files=.device/text_real.yaml,item_model=id+text,LatentMamba:config_files=.device/text_real.yaml,item_model=text > /tmp/lb/treal.log 2>&1 &
$LB --out=/tmp/lb/t100k --parallel=2 $common --datasets=ml-100k \
  --models=LatentMamba:config_files=.device/text_100k.yaml,LatentMamba:config_files=.device/text_100k.yaml,item_model=id+text > /tmp/lb/t100k.log 2>&1 &
$LB --out=/tmp/lb/tunion --parallel=2 $common --datasets=ml-100k+ml-1m-half-real \
  --models=LatentMamba:config_files=.device/text_union.yaml,LatentMamba:config_files=.device/text_union.yaml,item_model=id+text > /tmp/lb/tunion.log 2>&1 &
( python benchmarks/bench_objective.py --write /tmp/syn --items 50000 --users 300 --mean_len 16384 > /tmp/lb/syn.log 2>&1
  $LB --out=/tmp/lb/long --parallel=1 --data_path=/tmp/syn --datasets=synthetic --seeds=2020 --enable_amp=True --train_positions=all \
    --epochs=2 --MAX_ITEM_LIST_LENGTH=16384 --train_batch_size_all=8 --eval_batch_size=64 "--load_col={'inter':['user_id','item_id','timestamp']}" \
    --models=LatentMamba,SASRec >> /tmp/lb/syn.log 2>&1 ) &
wait
echo ALLDONE > /tmp/lb/ALLDONE
