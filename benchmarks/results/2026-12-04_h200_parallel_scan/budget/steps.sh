R=/tmp/lb; mkdir -p $R/e2e
E="python run_recbole_mamba.py --dataset=ml-1m --data_path=/tmp/datasets --train_positions=all --enable_amp=True --epochs=6 --stopping_step=100 --show_progress=False --seed=2020"
$E --model=SASRec --checkpoint_dir=$R/e2e/ck1 > $R/e2e/sasrec.log 2>&1
$E --model=LatentMamba --hidden_size=64 --inner_size=256 --compile_layers=True --checkpoint_dir=$R/e2e/ck2 > $R/e2e/lm64_compiled.log 2>&1
$E --model=LatentMamba --hidden_size=64 --inner_size=256 --compile_layers=True --compile_memory_budget=0.1 --checkpoint_dir=$R/e2e/ck3 > $R/e2e/lm64_compiled_budget0.1.log 2>&1
rm -rf $R/e2e/ck*
