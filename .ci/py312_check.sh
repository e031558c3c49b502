#!/usr/bin/env bash
# README's Python 3.12 install (RecBole without its ray pin, then this package) in a fresh venv, then every model of
# ours and RecBole's SASRec train on the tiny data. Skipped, saying so, where no 3.12 interpreter is found.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
py=""
if python3.12 --version >/dev/null 2>&1; then py=python3.12
elif command -v pyenv >/dev/null && v=$(pyenv versions --bare 2>/dev/null | grep '^3\.12' | head -1) && [ -n "$v" ]; then
  py="$(pyenv root)/versions/$v/bin/python3.12"
fi
[ -n "$py" ] && [ -x "$(command -v "$py" || echo "$py")" ] || { echo "py312 check: no Python 3.12 here, skipped"; exit 0; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" -m venv "$work/venv"
. "$work/venv/bin/activate"
pip install -q torch==2.13.0
# --- the README's Python 3.12 command (quiet; pip's note that recbole's ray is missing is expected) ---
cd "$repo" && pip install -q --no-deps recbole==1.2.1 && pip install -q -e . 2>&1 | { grep -v "ray<=2.6.3\|dependency resolver" || true; }
cd "$work"
recbole-mamba --model_list=LatentMamba,HMamba,Mamba4Rec,eSASRec,SASRec --dataset=tiny --data_path="$repo/tests/data" \
  --epochs=1 --hidden_size=16 --inner_size=32 --d_state=4 --n_heads=2 --n_layers=1 --MAX_ITEM_LIST_LENGTH=20 \
  --show_progress=False --use_gpu=False --state=WARNING --compare_dir="$work/cmp"
ok=$(shopt -s nullglob; set -- "$work"/cmp/runs/*.json; echo $#)  # one result file per model that trained
[ "$ok" -eq 5 ] || { echo "py312 check: $ok of 5 models trained"; cat "$work/cmp/tiny.md"; exit 1; }
echo "py312 check: $(python --version) installs with the README's command and trains 5 of 5 models"
