#!/bin/bash
# Launch the recipe comparison on one GPU, every run in the background at once (logs in /tmp/logs/NAME.log, results
# in /tmp/logs/NAME.json). From the project root on the GPU machine, after `source .device/setup.sh`:
#   bash benchmarks/results/2026-12-05_h100_recipe/launch.sh
# Peer: RecTools 0.19.0 (benchmarks/peer_rectools.py) from wheels in .device/peer (pandas 2.2, pytz, tzdata,
# pytorch-lightning 2.5.2, pydantic, pm-implicit without its CUDA part), kept apart from ours in /tmp/peer; the
# image's numpy 2 (RecTools pins numpy < 2 below Python 3.13 only). Ours: recbole_mamba from a copy of this tree.
set -u
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/peer .device/peer/*.whl  # not numpy: the image's numpy 2
[ -d /tmp/work ] || cp -r . /tmp/work; cp benchmarks/peer_rectools.py /tmp/work/benchmarks/ && mkdir -p /tmp/logs && cd /tmp/work
D=/tmp/datasets
ONLY=${1:-.}  # a regular expression: launch only the runs whose name matches it
peer() {  # name dataset layers seed
  [[ $1 =~ $ONLY ]] || return 0
  (cd /tmp && PYTHONPATH=/tmp/peer:/tmp/site setsid nohup python3 /tmp/work/benchmarks/peer_rectools.py \
    --dataset=$2 --data_path=$D --layers=$3 --seed=$4 > /tmp/logs/$1.log 2>&1 &)
}
ours() {  # name dataset args...
  [[ $1 =~ $ONLY ]] || return 0
  local name=$1 data=$2; shift 2
  (PYTHONPATH=/tmp/site:/tmp/work setsid nohup python3 run_recbole_mamba.py --dataset=$data --data_path=$D \
    --eval_filter_seen=True --metrics="['Hit','NDCG']" --valid_metric=Hit@10 --epochs=${EP:-200} --stopping_step=${PAT:-50} \
    --show_progress=False --checkpoint_dir=/tmp/saved/$name --result_json=/tmp/logs/$name.json "$@" \
    > /tmp/logs/$name.log 2>&1 &)
}
ML="--n_layers=2 --hidden_size=64 --inner_size=64 --dropout_prob=0.1"
for s in 2020 2021 2022; do
  peer peer_sasrec_toys_$s Amazon_Toys sasrec $s
  peer peer_sasrec_sports_$s Amazon_Sports sasrec $s
  ours ours_sasrec_toys_$s Amazon_Toys --model=eSASRec --block=sasrec --seed=$s
  ours ours_sasrec_sports_$s Amazon_Sports --model=eSASRec --block=sasrec --seed=$s
  ours ours_ligr_toys_$s Amazon_Toys --model=eSASRec --block=ligr --seed=$s
done
peer peer_ligr_toys_2020 Amazon_Toys ligr 2020
peer peer_ligr_sports_2020 Amazon_Sports ligr 2020
ours ours_ligr_sports_2020 Amazon_Sports --model=eSASRec --block=ligr --seed=2020
peer peer_sasrec_ml_2020 ml-1m-half-real sasrec 2020
EP=100 ours ours_sasrec_ml_2020 ml-1m-half-real --model=eSASRec --block=sasrec --seed=2020 $ML
# one change at a time from ours_sasrec_toys_2020 (A/B)
ours ab_shared_negatives_toys Amazon_Toys --model=eSASRec --block=sasrec --seed=2020 --negative_source=uniform
ours ab_normal_init_toys Amazon_Toys --model=eSASRec --block=sasrec --seed=2020 --init=normal
ours ab_betas_999_toys Amazon_Toys --model=eSASRec --block=sasrec --seed=2020 "--adam_betas=[0.9,0.999]"
PAT=10 ours ab_patience10_toys Amazon_Toys --model=eSASRec --block=sasrec --seed=2020
ours ab_recbole_sasrec_toys Amazon_Toys --model=SASRec --config_files=benchmarks/sasrec_plus.yaml --seed=2020
sleep 5; nvidia-smi --query-gpu=name,memory.used,utilization.gpu --format=csv
