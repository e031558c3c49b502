#!/usr/bin/env bash
# The `mamba2` / `gla` heads on one GPU: fla-core's kernels' parity, layer timings, epochs end to end, accuracy.
#   bash benchmarks/heads_gpu.sh start          (GPU machine, repo root, .device/ staged; fla-core travels as wheels:
#     bash ../shared/gpu/stage.sh --data ml-1m --data Amazon_Toys ... &&
#     pip download --no-deps --only-binary=:all: fla-core==0.6.0 einops -d .device/wheels &&
#     git rev-parse HEAD > .device/REV   (the commit the logs name: the GPU machine gets no .git))
#   bash benchmarks/heads_gpu.sh poll SECONDS   (wait up to SECONDS for the end, print the state, pack logs into $OUT)
# `start` runs in the background from a copy of the tree (/tmp/job), results in /tmp/heads:
#   phase 1, alone on the GPU, one thing at a time: fla-core's kernels vs the float64 recurrence (parity.log); one
#     layer forward + backward at L = 50, 200, 4000, fla-core and the chunked PyTorch form (layers.log/.json); ml-1m
#     (SASRec's width) and Amazon_Toys (shipped widths) end to end, `train_positions: all`, bf16, EPOCHS epochs each,
#     SASRec then the three heads, `scan_backend: auto` (e2e/*.log);
#   phase 2, side by side: a leaderboard of the three heads on DATASETS x SEEDS and SASRec `all` (seed 2020) on
#     SASREC_DATASETS, early stopping (acc/, sasrec/); with ALSO set, one more leaderboard beside them (also/):
#     ALSO holds its arguments, e.g. ALSO="--models=HMamba --datasets=Amazon_Toys --seeds=2020 --parallel=2".
# Environment: EPOCHS (4), DATASETS (ml-1m-half-real,Amazon_Toys,Amazon_Sports,Yelp,ml-1m), SEEDS (2020,2021,2022),
# PARALLEL (runs at once in phase 2, 16), SASREC_DATASETS (ml-1m-half-real,Amazon_Toys), ALSO (unset);
# DATASETS= (empty) skips phase 2. PHASE1=levers: phase 1 is the parity, then #46's levers end to end, each alone on
# the GPU (`trim_multiple: 16`, `compile_layers`, both, `gla` with `trim_multiple`), instead of the layer timings
# and the heads' epochs.
set -u
R=/tmp/heads
if [ "${1:-}" = poll ]; then
  for _ in $(seq $(( ${2:-0} / 10 ))); do [ -e $R/ALLDONE ] && break; sleep 10; done
  ls $R; tail -3 $R/parity.log; grep -A12 '^| layer' $R/layers.log
  for f in $R/e2e/*.log; do
    echo "$(basename $f) $(grep -oE 'epoch [0-9]+ training \[time: [0-9.]+s' $f | grep -oE '[0-9.]+s' | tr '\n' ' ')" \
      "$(grep -E 'Error|error:' $f | tail -1)"
  done
  for f in $R/acc/runs/*.json $R/sasrec/runs/*.json $R/also/runs/*.json; do [ -e "$f" ] && python3 -c "import json, sys
r = json.load(open(sys.argv[1])); print(sys.argv[1].split('/')[-1], r['best_epoch'], r['epochs'],
r['test_result'].get('ndcg@10'), round(r['train_s_per_epoch'], 2))" $f; done
  nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader
  tar czf $OUT/heads.tgz --exclude='*.pth' -C /tmp heads
  exit 0
fi
[ "${1:-}" = start ] || { echo "usage: bash benchmarks/heads_gpu.sh start | poll SECONDS" >&2; exit 2; }
if [ "${2:-}" != bg ]; then
  rm -rf /tmp/job && cp -r . /tmp/job && (cd /tmp/job && setsid nohup bash benchmarks/heads_gpu.sh start bg \
    > /tmp/heads_job.out 2>&1 &)
  exit 0
fi
source .device/setup.sh > /tmp/setup.log 2>&1
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
mkdir -p $R/e2e; cp .device/REV $R/REV; nvidia-smi > $R/nvidia-smi.txt
python -c "import fla, triton; print('fla', fla.__version__, 'triton', triton.__version__)" > $R/fla.txt 2>&1
python benchmarks/gpu_parity.py --backends triton --variants gated > $R/parity.log 2>&1
[ "${PHASE1:-all}" = levers ] || python benchmarks/bench_layers.py --lengths 50,200,4000 --backends triton,torch \
  --parts layer --ssms mamba1,mamba2,gla --reps 10 --out $R/layers.json > $R/layers.log 2>&1
E="--train_positions=all --enable_amp=True --epochs=${EPOCHS:-4} --stopping_step=100 --show_progress=False --seed=2020"
e2e() {  # name dataset args...
  local name=$1 data=$2; shift 2
  python run_recbole_mamba.py --dataset=$data --data_path=/tmp/datasets $E "$@" --checkpoint_dir=/tmp/ck/$name \
    > $R/e2e/$name.log 2>&1
  rm -rf /tmp/ck/$name
}
if [ "${PHASE1:-all}" = levers ]; then  # each lever of #46 alone, then together, against SASRec `all`, same call
  for d in ml-1m Amazon_Toys; do
    W=; [ $d = ml-1m ] && W="--hidden_size=64 --inner_size=256"  # SASRec's width on ml-1m
    e2e ${d}_sasrec $d --model=SASRec
    e2e ${d}_lm $d --model=LatentMamba $W
    e2e ${d}_lm_trim16 $d --model=LatentMamba $W --trim_multiple=16
    e2e ${d}_lm_compiled $d --model=LatentMamba $W --compile_layers=True
    e2e ${d}_lm_compiled_trim16 $d --model=LatentMamba $W --compile_layers=True --trim_multiple=16
    e2e ${d}_lm_gla_trim16 $d --model=LatentMamba $W --ssm=gla --trim_multiple=16
  done
else
  e2e ml1m_sasrec ml-1m --model=SASRec
  for s in mamba1 mamba2 gla; do
    e2e ml1m_lm64_$s ml-1m --model=LatentMamba --hidden_size=64 --inner_size=256 --ssm=$s --scan_backend=auto
  done
  e2e toys_sasrec Amazon_Toys --model=SASRec
  for s in mamba1 mamba2 gla; do e2e toys_lm_$s Amazon_Toys --model=LatentMamba --ssm=$s --scan_backend=auto; done
fi
A="--data_path=/tmp/datasets --enable_amp=True --epochs=200 --stopping_step=10"
D=${DATASETS-ml-1m-half-real,Amazon_Toys,Amazon_Sports,Yelp,ml-1m}
[ -n "$D" ] || { echo ALLDONE > $R/ALLDONE; exit 0; }
python -m recbole_mamba.leaderboard --out=$R/acc --parallel=${PARALLEL:-16} $A --seeds=${SEEDS:-2020,2021,2022} \
  --datasets=$D --models=LatentMamba:ssm=mamba1,LatentMamba:ssm=mamba2,LatentMamba:ssm=gla > $R/acc.log 2>&1 &
python -m recbole_mamba.leaderboard --out=$R/sasrec --parallel=2 $A --seeds=2020 \
  --datasets=${SASREC_DATASETS-ml-1m-half-real,Amazon_Toys} --models=SASRec:train_positions=all > $R/sasrec.log 2>&1 &
[ -z "${ALSO:-}" ] || python -m recbole_mamba.leaderboard --out=$R/also $A $ALSO > $R/also.log 2>&1 &
wait
echo ALLDONE > $R/ALLDONE
