#!/usr/bin/env bash
# Our models under the filtered ranking (#43) and the `gla` / `mamba2` heads' accuracy beside `mamba1` (#46), one GPU.
#   bash benchmarks/results/2026-12-06_h200_filtered/job.sh start   (GPU machine, repo root, .device/ staged with
#     the five dev datasets and fla-core 0.6.0 + einops wheels; .device/REV names the commit)
#   bash benchmarks/results/2026-12-06_h200_filtered/job.sh poll SECONDS   (wait up to SECONDS, pack logs into $OUT)
# `start` runs in the background from a copy of the tree (/tmp/job); results in /tmp/f: parity.log (fla-core's
# kernels vs the float64 recurrence), then four leaderboards side by side (~29 processes: timings are contended).
set -u
R=/tmp/f
if [ "${1:-}" = poll ]; then
  [ -d $R ] || { echo "no job here (fresh machine)"; exit 3; }
  for _ in $(seq $(( ${2:-0} / 10 ))); do [ -e $R/ALLDONE ] && break; sleep 10; done
  tail -3 $R/parity.log
  for f in $R/*/runs/*.json; do [ -e "$f" ] && python3 -c "import json, sys
r = json.load(open(sys.argv[1])); print(sys.argv[1].split('/')[-1], r['best_epoch'], r['epochs'],
r['test_result'].get('ndcg@10'), round(r['train_s_per_epoch'], 2))" $f; done
  nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader
  tar czf $OUT/f.tgz --exclude='*.pth' --exclude='*/ck' -C /tmp f
  exit 0
fi
[ "${1:-}" = start ] || { echo "usage: job.sh start | poll SECONDS" >&2; exit 2; }
if [ "${2:-}" != bg ]; then
  rm -rf /tmp/job && cp -r . /tmp/job && (cd /tmp/job && setsid nohup bash $0 start bg > /tmp/f_job.out 2>&1 &)
  exit 0
fi
source .device/setup.sh > /tmp/setup.log 2>&1
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
mkdir -p $R; cp .device/REV $R/REV; nvidia-smi > $R/nvidia-smi.txt
python -c "import fla, triton; print('fla', fla.__version__, 'triton', triton.__version__)" > $R/fla.txt 2>&1
python benchmarks/gpu_parity.py --backends triton --variants gated > $R/parity.log 2>&1 &
A="--data_path=/tmp/datasets --enable_amp=True --epochs=200 --stopping_step=10 --eval_filter_seen=True"
A="$A --valid_metric=Hit@10"
LB="python -m recbole_mamba.leaderboard"
LM="LatentMamba:ssm=mamba1,LatentMamba:ssm=gla"
ML="n_layers=2,hidden_size=64,inner_size=64,dropout_prob=0.1"  # the benchmark's ml_1m.yaml sizes
$LB --out=$R/ml --parallel=10 $A --seeds=2020,2021,2022 --datasets=ml-1m-half-real \
  --models=$LM,LatentMamba:ssm=mamba2,eSASRec:block=sasrec,$ML,eSASRec:block=sasrec,sampled_negatives=0,$ML \
  > $R/ml.log 2>&1 &
$LB --out=$R/sports --parallel=6 $A --seeds=2021,2022 --datasets=Amazon_Sports \
  --models=$LM,eSASRec:block=sasrec,sampled_negatives=0 > $R/sports.log 2>&1 &
$LB --out=$R/toys --parallel=2 $A --seeds=2020 --datasets=Amazon_Toys --models=$LM > $R/toys.log 2>&1 &
$LB --out=$R/others --parallel=6 $A --seeds=2020 --datasets=Amazon_Toys,Amazon_Sports,ml-1m-half-real \
  --models=HMamba,Mamba4Rec > $R/others.log 2>&1 &
wait
echo ALLDONE > $R/ALLDONE
