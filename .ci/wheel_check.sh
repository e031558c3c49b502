#!/usr/bin/env bash
# The wheel built from this checkout, installed (not editable) into a fresh venv, trains every model of ours and
# RecBole's SASRec on the tiny test data from outside the source tree, through the installed `recbole-mamba` command.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip wheel -q --no-deps "$repo" -w "$work/dist"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q torch==2.13.0
"$work/venv/bin/pip" install -q "$work"/dist/recbole_mamba-*.whl matplotlib
cd "$work"
"$work/venv/bin/python" - "$work"/dist/recbole_mamba-*.whl <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
needed = ["recbole_mamba/model/sequential_recommender/latentmamba.py", "recbole_mamba/properties/model/HMamba.yaml",
          "recbole_mamba/properties/quick_start_config/sequential.yaml", "recbole_mamba/properties/hyper/LatentMamba.hyper"]
missing = [n for n in needed if n not in names]
assert not missing, f"the wheel lacks {missing}"
print(f"wheel: {len(names)} files, models and properties included")
PY
"$work/venv/bin/recbole-mamba" --model_list=LatentMamba,HMamba,Mamba4Rec,eSASRec,SASRec --dataset=tiny \
  --data_path="$repo/tests/data" --epochs=1 --hidden_size=16 --inner_size=32 --d_state=4 --n_heads=2 --n_layers=1 \
  --MAX_ITEM_LIST_LENGTH=20 --show_progress=False --use_gpu=False --state=WARNING --compare_dir="$work/cmp"
ok=$(shopt -s nullglob; set -- "$work"/cmp/runs/*.json; echo $#)  # one result file per model that trained
[ "$ok" -eq 5 ] || { echo "wheel check: $ok of 5 models trained"; cat "$work/cmp/tiny.md"; exit 1; }
echo "wheel check: 5 of 5 models trained from the installed wheel"
