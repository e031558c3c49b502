#!/usr/bin/env bash
# Issue #7: screen LatentMamba's config on ml-1m with our tuner (run_hyper.py, hyperopt's exhaustive grid), every
# trial capped at EPOCHS epochs (default 20) so that several fit into one device lease; the valid metric after every
# epoch of every trial lands in DIR/NAME/LatentMamba-curves.csv, so trials compare at equal epochs. A screen is no
# converged result: a winner has to be trained to early stopping (benchmarks/accuracy_suite.sh) before it may
# change properties/. Usage (GPU machine, repo root, after `source .device/setup.sh`):
#   SCREENS="dropout width" setsid nohup bash benchmarks/tuning_screen.sh /tmp/tune > /tmp/tune/screen.log 2>&1 < /dev/null &
# NAME is a search space benchmarks/tuning/NAME.hyper; the screens run one after another (one GPU), each writing
# DIR/NAME/ (tables rewritten after every trial) and DIR/NAME.log. EXTRA adds --key=value for every trial.
set -u
DIR=${1:-/tmp/tune}
DATA=${DATA_PATH:-/tmp/datasets}
SCREENS=${SCREENS:-"dropout width depth heads"}
EPOCHS=${EPOCHS:-20}
MODEL=${MODEL:-LatentMamba}
EXTRA=${EXTRA-"--enable_amp=True"}
here=$(cd "$(dirname "$0")" && pwd)
export PYTHONUNBUFFERED=1
mkdir -p "$DIR"
for name in $SCREENS; do
  space="$here/tuning/$name.hyper"
  [ -f "$space" ] || { echo "$(date -u +%FT%TZ) no search space $space: skipped"; continue; }
  echo "$(date -u +%FT%TZ) screen $name: $(tr '\n' ' ' < "$space")"
  python "$here/../run_hyper.py" --model="$MODEL" --dataset=ml-1m --data_path="$DATA" --params_file="$space" \
    --tool=hyperopt --algo=exhaustive --max_evals=100 --output_dir="$DIR/$name" --verbose \
    --seed=2020 --epochs="$EPOCHS" --stopping_step=10 --topk="[10,20]" $EXTRA > "$DIR/$name.log" 2>&1
  echo "$(date -u +%FT%TZ) screen $name ended with status $?"
done
echo "$(date -u +%FT%TZ) all screens ended"
