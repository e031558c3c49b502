#!/usr/bin/env bash
# #46's levers timed alone, then #43's remaining runs under the filtered ranking side by side, one GPU call chain.
#   bash benchmarks/results/2026-12-06_h100_levers/job.sh start   (GPU machine, repo root, .device/ staged
#     with the five dev datasets and fla-core 0.6.0 + einops wheels; .device/REV names the commit)
#   bash benchmarks/results/2026-12-06_h100_levers/job.sh poll SECONDS   (wait, pack logs into $OUT)
#   LEVERS=0 ... job.sh start: step 2 only (step 1 ran on 2026-12-06: README);
#   YELP_SEEDS=2021,2022 ... : Yelp's seeds in step 2 (default 2020,2021,2022)
# `start` runs in the background from a copy of the tree (/tmp/job):
#   1. alone on the GPU: `PHASE1=levers DATASETS= EPOCHS=5 bash benchmarks/heads_gpu.sh start bg` (gated parity,
#      then SASRec `all` and LatentMamba with each lever on ml-1m at width 64 and Amazon_Toys: /tmp/heads);
#   2. side by side (/tmp/f): Yelp and ml-1m, LatentMamba and SASRec+SS with full cross-entropy for seeds
#      2020-2022, HMamba and the Mamba4Rec-style model for seed 2020; ml-1m-half-real, HMamba and the
#      Mamba4Rec-style model for seeds 2021-2022; HMamba's Euclidean half (`variant=half`) on Amazon_Toys,
#      Amazon_Sports and ml-1m-half-real, seed 2020.
set -u
R=/tmp/f
if [ "${1:-}" = poll ]; then
  [ -d /tmp/heads ] || [ -d $R ] || { echo "no job here (fresh machine)"; exit 3; }
  for _ in $(seq $(( ${2:-0} / 10 ))); do [ -e $R/ALLDONE ] && break; sleep 10; done
  OUT=/tmp/ignore bash benchmarks/heads_gpu.sh poll 0 2>/dev/null | grep -v '^tar'
  for f in $R/*/runs/*.json; do [ -e "$f" ] && python3 -c "import json, sys
r = json.load(open(sys.argv[1])); print(sys.argv[1].split('/')[-1], r['best_epoch'], r['epochs'],
r['test_result'].get('ndcg@10'), round(r['train_s_per_epoch'], 2))" $f; done
  nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader
  tar czf $OUT/f.tgz --exclude='*.pth' --exclude='*/ck' -C /tmp $(cd /tmp && ls -d f heads 2>/dev/null)
  exit 0
fi
[ "${1:-}" = start ] || { echo "usage: job.sh start | poll SECONDS" >&2; exit 2; }
if [ "${2:-}" != bg ]; then
  rm -rf /tmp/job && cp -r . /tmp/job && (cd /tmp/job && setsid nohup bash $0 start bg > /tmp/f_job.out 2>&1 &)
  exit 0
fi
[ "${LEVERS:-1}" = 0 ] || PHASE1=levers DATASETS= EPOCHS=5 bash benchmarks/heads_gpu.sh start bg
source .device/setup.sh > /tmp/setup.log 2>&1
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
mkdir -p $R; cp .device/REV $R/REV
A="--data_path=/tmp/datasets --enable_amp=True --epochs=200 --stopping_step=10 --eval_filter_seen=True"
A="$A --valid_metric=Hit@10"
LB="python -m recbole_mamba.leaderboard"
ML="n_layers=2,hidden_size=64,inner_size=64,dropout_prob=0.1"  # the benchmark's ml_1m.yaml sizes
$LB --out=$R/yelp --parallel=6 $A --seeds=${YELP_SEEDS:-2020,2021,2022} --datasets=Yelp \
  --models=LatentMamba,eSASRec:block=sasrec,sampled_negatives=0 > $R/yelp.log 2>&1 &
$LB --out=$R/ml1m --parallel=6 $A --seeds=2020,2021,2022 --datasets=ml-1m \
  --models=LatentMamba,eSASRec:block=sasrec,sampled_negatives=0,$ML > $R/ml1m.log 2>&1 &
$LB --out=$R/others --parallel=4 $A --seeds=2020 --datasets=Yelp,ml-1m --models=HMamba,Mamba4Rec \
  > $R/others.log 2>&1 &
$LB --out=$R/mlhr --parallel=4 $A --seeds=2021,2022 --datasets=ml-1m-half-real --models=HMamba,Mamba4Rec \
  > $R/mlhr.log 2>&1 &
$LB --out=$R/half --parallel=3 $A --seeds=2020 --datasets=Amazon_Toys,Amazon_Sports,ml-1m-half-real \
  --models=HMamba:variant=half > $R/half.log 2>&1 &
wait
echo ALLDONE > $R/ALLDONE
