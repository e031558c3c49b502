"""One entry point for recbole_mamba's models and every RecBole model.

    python run_recbole_mamba.py                                   # LatentMamba on ml-100k (offline)
    python run_recbole_mamba.py --model=SASRec --dataset=ml-1m --data_path=../shared/datasets
    python run_recbole_mamba.py --model=LatentMamba --config_files="a.yaml b.yaml" --epochs=5
    python run_recbole_mamba.py --model_list=LatentMamba,SASRec,GRU4Rec --dataset=ml-1m,ml-100k   # comparison
    python run_recbole_mamba.py --resume=saved/LatentMamba-<time>-last.pth    # continue an interrupted run

Every other --key=value is a RecBole/recbole_mamba config key and overrides all files.
"""
import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", "-m", default=None, help="model name, ours or RecBole's (default LatentMamba)")
    parser.add_argument("--dataset", "-d", default=None, help="dataset name (default ml-100k)")
    parser.add_argument("--resume", default=None,
                        help="a '-last.pth' checkpoint of an interrupted run: continue it "
                             "(its settings are the defaults)")
    parser.add_argument("--config_files", default=None, help="space-separated yaml files")
    parser.add_argument("--model_list", default=None, help="comma-separated models to compare (see compare.py)")
    parser.add_argument("--compare_dir", default="compare", help="where --model_list writes its table and plot")
    args, rest = parser.parse_known_args(argv)
    bad = [a for a in rest if not (a.startswith("--") and "=" in a)]
    if bad:
        parser.error(f"arguments must look like --key=value, got: {' '.join(bad)}")

    from recbole_mamba.errors import RecBoleMambaError
    from recbole_mamba.quick_start import run

    config_files = args.config_files.split() if args.config_files else None
    if not args.resume:
        args.model, args.dataset = args.model or "LatentMamba", args.dataset or "ml-100k"
    if args.model_list:
        from recbole_mamba.compare import compare

        rows = compare(args.model_list.split(","), args.dataset.split(","), config_files, rest, args.compare_dir)
        return 0 if any(r["status"] == "ok" for r in rows) else 1
    try:
        run(model=args.model, dataset=args.dataset, config_file_list=config_files, cmd_args=rest, resume=args.resume)
    except RecBoleMambaError as exc:
        print(f"run_recbole_mamba: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
