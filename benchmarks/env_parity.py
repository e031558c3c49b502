"""RecBole's own SASRec on a slice of ml-1m, under any numpy / pandas / torch stack (issue 7).

    python benchmarks/env_parity.py [--compat] [--users 400] [--epochs 3] [--data ../shared/datasets/ml-1m]

Trains with RecBole's `run_recbole` and nothing of ours, except with --compat, which applies recbole_mamba.compat
first (needed on numpy 2 / pandas 3). Run it in two environments, e.g. ours and a venv with numpy 1.24 and pandas 2.0
(the stack RecBole 1.2.1 was released for), and compare the logged train loss and valid metrics epoch by epoch: equal
numbers mean our stack trains RecBole models as RecBole's own era did. The slice (the first N users of the ml-1m
copy) is written to a temporary folder; seed 2020, CPU, one thread is enough.
"""
import argparse
import os
import sys
import tempfile


def write_slice(data, users, out):
    os.makedirs(os.path.join(out, "ml-slice"), exist_ok=True)
    with open(os.path.join(data, "ml-1m.inter")) as src, \
            open(os.path.join(out, "ml-slice", "ml-slice.inter"), "w") as dst:
        dst.write(src.readline())
        for line in src:
            if int(line.split("\t", 1)[0]) <= users:
                dst.write(line)


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--compat", action="store_true", help="apply recbole_mamba.compat first (numpy 2 / pandas 3)")
    p.add_argument("--users", type=int, default=400)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "datasets", "ml-1m"))
    args = p.parse_args(argv)
    if args.compat:
        sys.path.insert(0, os.path.join(here, ".."))
        import recbole_mamba.compat as compat
        compat.apply()
    from recbole.quick_start import run_recbole

    out = tempfile.mkdtemp(prefix="env_parity_")
    write_slice(args.data, args.users, out)
    config = dict(data_path=out, load_col={"inter": ["user_id", "item_id", "timestamp"]},
                  user_inter_num_interval="[5,inf)", item_inter_num_interval="[5,inf)", MAX_ITEM_LIST_LENGTH=50,
                  eval_args={"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full"},
                  train_neg_sample_args=None, loss_type="CE", epochs=args.epochs, train_batch_size=256,
                  eval_batch_size=4096, seed=2020, reproducibility=True, use_gpu=False, show_progress=False,
                  metrics=["Hit", "NDCG", "MRR"], topk=[10], valid_metric="NDCG@10",
                  checkpoint_dir=os.path.join(out, "saved"))
    # saved=False: the test uses the last epoch's model, so no checkpoint is read back (RecBole's own checkpoints
    # pickle its Config, which recbole_mamba.compat's weights-only loading refuses)
    result = run_recbole(model="SASRec", dataset="ml-slice", config_dict=config, saved=False)
    print("best valid:", dict(result["best_valid_result"]))
    print("test:", dict(result["test_result"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
