"""Command line: `recbole-mamba` (also `python run_recbole_mamba.py` in a source checkout).

    recbole-mamba                                              # LatentMamba on ml-100k (ships in RecBole, offline)
    recbole-mamba --model=SASRec --dataset=mydata --data_path=DIR    # DIR/mydata/mydata.inter
    recbole-mamba --model=LatentMamba --config_files="a.yaml b.yaml" --epochs=5
    recbole-mamba --model_list=LatentMamba,SASRec,GRU4Rec --dataset=ml-100k    # side-by-side comparison
    recbole-mamba --resume=saved/LatentMamba-<time>-last.pth                    # continue an interrupted run
    recbole-mamba --model=LatentMamba --help                   # also lists the model's config keys

Every other --key=value is a RecBole/recbole_mamba config key and overrides all files.
"""
import argparse
import sys


def summary_table(result):
    """The result of `quick_start.run` as a few aligned lines a person can read and copy."""
    valid, test = result.get("best_valid_result") or {}, result.get("test_result") or {}
    lines = [f"{result['model']} on {result['dataset']}"]
    width = max([len(k) for k in {**valid, **test}] + [6])
    lines.append(f"  {'metric':<{width}}  {'valid':>7}  {'test':>7}")
    for key in dict.fromkeys([*valid, *test]):
        cells = [f"{float(d[key]):7.4f}" if key in d else f"{'–':>7}" for d in (valid, test)]
        lines.append(f"  {key:<{width}}  {cells[0]}  {cells[1]}")
    for name, parts in (result.get("by_domain") or {}).items():  # a union of datasets: each domain alone
        cells = "  ".join(f"{split} {k} {float(v):.4f}" for split in ("valid", "test")
                          for k, v in (parts.get(split) or {}).items() if k.startswith("ndcg"))
        lines.append(f"  {name}: {cells}")
    cost = [f"parameters {result['params']:,}", f"epochs {result['epochs']}"]
    if result.get("best_epoch") is not None:
        cost.append(f"best epoch {result['best_epoch']}")
    if result.get("train_s_per_epoch") is not None:
        cost.append(f"{result['train_s_per_epoch']:.1f} s/epoch")
    if result.get("train_s_to_best") is not None:
        cost.append(f"{result['train_s_to_best']:.1f} s to the best epoch")
    if result.get("peak_gpu_mem_gib") is not None:
        cost.append(f"peak GPU memory {result['peak_gpu_mem_gib']:.2f} GiB")
    lines.append("  " + ", ".join(cost))
    if result.get("saved_model_file"):
        lines.append(f"  checkpoint: {result['saved_model_file']}")
    return "\n".join(lines)


def model_keys_help(model):
    """The config keys our yaml files give `model`, with their comments (a one-line error for an unknown model)."""
    from recbole_mamba.config import documented_keys

    keys = documented_keys(model)
    if not keys:
        return (f"{model}: RecBole's model; its keys are in RecBole's properties/model/{model}.yaml, "
                f"the shared ones in RecBole's overall.yaml")
    width = max(len(k) for k in keys)
    lines = [f"config keys of {model} (our defaults; any key can be set with --key=value):"]
    lines += [f"  {key:<{width}}  {value!s:<12} {comment}" for key, (value, comment) in keys.items()]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="recbole-mamba", description=__doc__, add_help=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--help", "-h", action="store_true", help="show this help (and --model's keys) and exit")
    parser.add_argument("--model", "-m", default=None, help="model name, ours or RecBole's (default LatentMamba)")
    parser.add_argument("--dataset", "-d", default=None, help="dataset name (default ml-100k)")
    parser.add_argument("--resume", default=None,
                        help="a '-last.pth' checkpoint of an interrupted run: continue it "
                             "(its settings are the defaults)")
    parser.add_argument("--config_files", default=None, help="space-separated yaml files")
    parser.add_argument("--model_list", default=None,
                        help="comma-separated models (NAME or NAME:key=value) to compare, one seed: the leaderboard's "
                             "tables")
    parser.add_argument("--compare_dir", default="compare",
                        help="where --model_list writes its tables, plots, logs and results")
    parser.add_argument("--result_json", default=None, help="also write the run's result (metrics, costs) there")
    args, rest = parser.parse_known_args(argv)
    from recbole_mamba.errors import RecBoleMambaError

    try:
        import recbole  # noqa: F401
    except ModuleNotFoundError:
        print("recbole-mamba: error: RecBole is not installed: `pip install --no-deps recbole==1.2.1` on "
              "Python >= 3.12 (its ray pin has no wheel there), `pip install recbole==1.2.1` before",
              file=sys.stderr)
        return 2

    if args.help:
        parser.print_help()
        if args.model:
            try:
                print("\n" + model_keys_help(args.model))
            except RecBoleMambaError as exc:
                print(f"recbole-mamba: error: {exc}", file=sys.stderr)
                return 2
        return 0
    from recbole_mamba.config import command_line_keys
    from recbole_mamba.quick_start import run

    config_files = args.config_files.split() if args.config_files else None
    if not args.resume:
        args.model, args.dataset = args.model or "LatentMamba", args.dataset or "ml-100k"
    try:
        keys = command_line_keys(rest)  # a malformed or repeated --key=value: one line, before anything runs
        if args.model_list:  # the leaderboard with one seed
            from recbole_mamba.leaderboard import _split_models, board

            seed = keys.get("seed", "2020")
            common = [a for a in rest if not a.startswith("--seed=")]
            common += [f"--config_files={args.config_files}"] if args.config_files else []
            _, done = board(_split_models(args.model_list), args.dataset.split(","), [seed], common,
                            args.compare_dir, prefix="[compare]")
            return 0 if done else 1
        result = run(model=args.model, dataset=args.dataset, config_file_list=config_files, cmd_args=rest,
                     resume=args.resume)
    except RecBoleMambaError as exc:
        print(f"recbole-mamba: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nrecbole-mamba: interrupted; continue with --resume=<the run's -last.pth file> (in its "
              "checkpoint_dir, written after every validation)", file=sys.stderr)
        return 130
    print(summary_table(result), flush=True)
    if args.result_json:
        write_json(result, args.result_json)
    return 0


def write_json(result, path):
    """The result dict as JSON (numpy numbers as plain ones), written whole or not at all."""
    import json
    import os

    from recbole_mamba.utils import atomic_write

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_write(path) as f:
        json.dump(result, f, indent=1, default=lambda v: v.item() if hasattr(v, "item") else str(v))


if __name__ == "__main__":
    sys.exit(main())
