R=/tmp/lb; mkdir -p $R/e2e
E="--dataset=ml-1m --data_path=/tmp/datasets --train_positions=all --enable_amp=True --epochs=6 --stopping_step=100 --show_progress=False --seed=2020"
run() { # run NAME CHUNK ARGS...
  local name=$1 chunk=$2; shift 2
  python -c "import sys, runpy; import recbole_mamba.ops.scan_triton as s; s.CHUNK = int(sys.argv[1]) or None; sys.argv = ['run_recbole_mamba.py'] + sys.argv[2:]; runpy.run_path('run_recbole_mamba.py', run_name='__main__')" $chunk "$@" --checkpoint_dir=$R/e2e/ck_$name > $R/e2e/$name.log 2>&1
  rm -rf $R/e2e/ck_$name
}
run sasrec 0 --model=SASRec $E
run lm128_chunk8 8 --model=LatentMamba $E
run lm128_chunk4 4 --model=LatentMamba $E
run lm64_chunk8 8 --model=LatentMamba --hidden_size=64 --inner_size=256 $E
run lm64_chunk4 4 --model=LatentMamba --hidden_size=64 --inner_size=256 $E
SCAN_CHUNK=8 python benchmarks/bench_layers.py --lengths 50,200 --backends triton --parts layer,scan --reps 10 > $R/layers_chunk8.log 2>&1
