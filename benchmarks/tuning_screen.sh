#!/usr/bin/env bash
# Issue #7: screen LatentMamba's config on ml-1m with our tuner (run_hyper.py, hyperopt's exhaustive grid), every
# trial capped at EPOCHS epochs (default 20) so that several fit into one device lease; the valid metric after every
# epoch of every trial lands in DIR/NAME/LatentMamba-curves.csv, so trials compare at equal epochs. A screen is no
# converged result: a winner has to be trained to early stopping (benchmarks/accuracy_suite.sh) before it may
# change properties/. Usage (GPU machine, repo root, after `source .device/setup.sh`):
#   SCREENS="dropout width" setsid nohup bash benchmarks/tuning_screen.sh /tmp/tune > /tmp/tune/screen.log 2>&1 < /dev/null &
# NAME is a search space benchmarks/tuning/NAME.hyper; each screen writes DIR/NAME/ (tables rewritten after every
# trial) and DIR/NAME.log. EXTRA adds --key=value for every trial. On a machine with several GPUs (GPUS overrides the
# count nvidia-smi gives; GPU_IDS=2,3 names the GPUs to use, e.g. those accuracy_suite.sh leaves free) the screens are
# dealt out round-robin and each GPU runs its share one after another; on one GPU they all run one after another
# (running them at once would not go faster: a run keeps an H100/H200 busy) unless GPU_IDS names it twice
# (GPU_IDS=0,0: two queues side by side on GPU 0; session 19 measured 68.9 and 88.3 s per epoch for two LatentMamba
# trials side by side against 31.4 s alone, so two screens do not end in one 30-minute lease that way either).
# The spaces hold no control trial: the control, width 128 with the defaults at seed 2020 and bf16, is the accuracy
# run benchmarks/results/2026-11-28_h200x4_session15/accuracy/LatentMamba_2020_hidden_size-128_inner_size-512.log,
# whose first 20 valid NDCG@10 equal those of session 12's screen trial of the same config to the last digit (a
# screen trial trains as an accuracy run does, on the same kind of GPU: H200 and H100 differ by ~0.4%); compare with
#   python benchmarks/collect_results.py --curves THAT_LOG DIR/NAME/LatentMamba-curves.csv
set -u
DIR=${1:-/tmp/tune}
DATA=${DATA_PATH:-/tmp/datasets}
# since session 15 LatentMamba's ml-1m default is width 128 (properties/model/LatentMamba/ml-1m.yaml): the screens
# vary that config, and "width" (128) is the control itself, so it is no longer screened by default
SCREENS=${SCREENS:-"dropout depth heads"}
EPOCHS=${EPOCHS:-20}
MODEL=${MODEL:-LatentMamba}
EXTRA=${EXTRA-"--enable_amp=True"}
here=$(cd "$(dirname "$0")" && pwd)
export PYTHONUNBUFFERED=1
. "$here/gpu_ids.sh"  # ids, GPUS
mkdir -p "$DIR"

screen_on() {  # GPU NAME...: run the screens NAME... one after another on that GPU
  local gpu=$1 name space; shift
  for name in "$@"; do
    space="$here/tuning/$name.hyper"
    [ -f "$space" ] || { echo "$(date -u +%FT%TZ) no search space $space: skipped"; continue; }
    echo "$(date -u +%FT%TZ) screen $name on GPU $gpu: $(tr '\n' ' ' < "$space")"
    # CUDA_VISIBLE_DEVICES before the process starts, as accuracy_suite.sh does; --gpu_id agrees with it
    CUDA_VISIBLE_DEVICES=$gpu python "$here/../run_hyper.py" --model="$MODEL" --dataset=ml-1m --data_path="$DATA" \
      --params_file="$space" --tool=hyperopt --algo=exhaustive --max_evals=100 --output_dir="$DIR/$name" --verbose \
      --seed=2020 --epochs="$EPOCHS" --stopping_step=10 --topk="[10,20]" --gpu_id="$gpu" $EXTRA > "$DIR/$name.log" 2>&1
    echo "$(date -u +%FT%TZ) screen $name ended with status $?"
  done
}

for ((k = 0; k < GPUS; k++)); do
  mine=(); i=0
  for name in $SCREENS; do [ $((i % GPUS)) -eq "$k" ] && mine+=("$name"); i=$((i + 1)); done
  [ ${#mine[@]} -gt 0 ] && screen_on "${ids[$k]}" "${mine[@]}" &
done
wait
echo "$(date -u +%FT%TZ) all screens ended"
