#!/usr/bin/env bash
# background job, run from /tmp/job1 (a copy of the tree): #33 layers compiled vs eager, kernel profile, scan CHUNK
# sweep, ml-1m end to end with compile_layers; #32 cold start on ml-1m-half-real, fine-tuned text mode on a GPU
cd /tmp/job1 && source .device/setup.sh > /dev/null
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=4 HF_HUB_OFFLINE=1
R=/tmp/lb; mkdir -p $R/e2e $R/ft $R/cold
git_rev=$(cat .device/REV 2>/dev/null); echo "code $git_rev" > $R/REV
nvidia-smi > $R/nvidia-smi.txt
# phase 1, alone: layers (eager and compiled), profile, scan chunk sweep
python benchmarks/bench_layers.py --lengths 50,200 --backends triton --parts layer,scan --compile --reps 10 \
  --out $R/layers.json > $R/layers.log 2>&1
python benchmarks/bench_layers.py --lengths 50,200 --backends triton --parts profile --compile --reps 5 \
  > $R/profile.log 2>&1
for C in 8 32; do SCAN_CHUNK=$C python benchmarks/bench_layers.py --lengths 50,200 --backends triton --parts scan \
  --reps 10 > $R/scan_chunk$C.log 2>&1; done
# phase 2, one run at a time: ml-1m end to end, train_positions all, bf16, 6 epochs
E="python run_recbole_mamba.py --dataset=ml-1m --data_path=/tmp/datasets --train_positions=all --enable_amp=True --epochs=6 --stopping_step=100 --show_progress=False --seed=2020"
$E --model=SASRec --checkpoint_dir=$R/e2e/ck1 > $R/e2e/sasrec.log 2>&1
$E --model=LatentMamba --checkpoint_dir=$R/e2e/ck2 > $R/e2e/lm128.log 2>&1
$E --model=LatentMamba --compile_layers=True --checkpoint_dir=$R/e2e/ck3 > $R/e2e/lm128_compiled.log 2>&1
$E --model=LatentMamba --hidden_size=64 --inner_size=256 --checkpoint_dir=$R/e2e/ck4 > $R/e2e/lm64.log 2>&1
$E --model=LatentMamba --hidden_size=64 --inner_size=256 --compile_layers=True --checkpoint_dir=$R/e2e/ck5 > $R/e2e/lm64_compiled.log 2>&1
# phase 3, side by side: needs the encoder (assembled from two carried pieces by the second call)
for i in $(seq 120); do [ -e /tmp/minilm/READY ] && break; sleep 5; done
ENC=/tmp/minilm/model
T="--text_encoder=$ENC --train_positions=all --enable_amp=True --show_progress=False"
python benchmarks/cold_start.py --dataset ml-1m-half-real --data_path /tmp/datasets --out $R/cold \
  --text_fields movie_title,release_year,genre --MAX_ITEM_LIST_LENGTH=200 "--user_inter_num_interval=[5,inf)" \
  "--item_inter_num_interval=[0,inf)" $T --epochs=200 --stopping_step=10 > $R/cold/cold.log 2>&1 &
F="python run_recbole_mamba.py --model=LatentMamba --dataset=ml-100k --item_model=id+text --text_fields=['movie_title','release_year','class'] $T --epochs=60 --stopping_step=10"
$F --text_finetune_layers=1 --checkpoint_dir=$R/ft/ck1 > $R/ft/finetune1.log 2>&1 &
$F --checkpoint_dir=$R/ft/ck0 --text_cache_dir=$R/ft/cache > $R/ft/frozen.log 2>&1 &
wait
echo ALLDONE > $R/ALLDONE
