"""Leaderboard: models x datasets x seeds under one protocol, run side by side, resumable, summed up per dataset.

    recbole-mamba-leaderboard --models=LatentMamba,SASRec,HMamba:variant=half --datasets=ml-100k,Amazon_Toys \
        --seeds=2020,2021,2022 --data_path=DIR --parallel=4 [--gpus=0,1] [--out=leaderboard] [--key=value ...]

A model entry is NAME or NAME:key=value,key=value (its own settings; the entry is its label). Every other
--key=value applies to every run. Each run is one `recbole-mamba` process (its log in <out>/logs/, its result in
<out>/runs/<tag>.json); up to --parallel run at once, dealt over --gpus. A run whose result file exists is not run
again, so a stopped leaderboard resumes where it stopped. Writes, from every result file in <out>/runs:
<out>/<dataset>.md (one table per dataset: mean ± standard deviation over seeds of test and valid
NDCG/Hit/MRR@10, parameters, epochs, seconds per epoch, wall seconds to the best epoch, peak GPU memory),
<out>/runs.csv (one row per run) and, with matplotlib, <out>/<dataset>.png (test NDCG@10 against time to best).
"""
import argparse
import concurrent.futures
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import threading

COLUMNS = (("test ndcg@10", "test", "ndcg@10"), ("test hit@10", "test", "hit@10"), ("test mrr@10", "test", "mrr@10"),
           ("valid ndcg@10", "valid", "ndcg@10"))
COSTS = (("params", "params", "{:,.0f}"), ("epochs", "epochs", "{:.0f}"), ("s/epoch", "train_s_per_epoch", "{:.1f}"),
         ("s to best", "wall_s_to_best", "{:.0f}"), ("GPU GiB", "peak_gpu_mem_gib", "{:.1f}"))


def parse_model(entry):
    """'HMamba:variant=half,temperature=0.5' -> ('HMamba', {'variant': 'half', 'temperature': '0.5'})."""
    name, _, opts = entry.partition(":")
    settings = dict(opt.split("=", 1) for opt in opts.split(",") if opt)
    return name, settings


def tag_of(dataset, label, seed):
    """A file name for one run: the label's ':' ',' become '_', '=' becomes '-', anything else outside
    [A-Za-z0-9._-] (a path separator of config_files=a/b.yaml, a space) becomes '-'."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "-", label.replace(":", "_").replace("=", "-").replace(",", "_"))
    return f"{dataset}__{safe}__{seed}"


def plan(models, datasets, seeds):
    """[(tag, dataset, label, model, settings, seed)] in the order they start: seeds outermost, so that a
    stopped leaderboard has every model and dataset at its first seeds."""
    return [(tag_of(d, label, s), d, label, *parse_model(label), s)
            for s in seeds for d in datasets for label in models]


def run_one(out, job, common, gpu, python=sys.executable):
    tag, dataset, label, model, settings, seed = job
    result_file = os.path.join(out, "runs", f"{tag}.json")
    cmd = [python, "-m", "recbole_mamba.cli", f"--model={model}", f"--dataset={dataset}", f"--seed={seed}",
           f"--result_json={result_file}", f"--checkpoint_dir={os.path.join(out, 'ck', tag)}",
           "--show_progress=False", *common, *[f"--{k}={v}" for k, v in settings.items()]]
    env = dict(os.environ)
    if gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = str(gpu)
    with open(os.path.join(out, "logs", f"{tag}.log"), "w") as log:
        code = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env).returncode
    if code == 0:  # the label and seed this run stands for, beside what the run reported
        with open(result_file) as f:
            result = json.load(f)
        result.update(label=label, seed=seed, settings=settings)
        with open(result_file, "w") as f:
            json.dump(result, f, indent=1)
    return code


def run_all(out, jobs, common, parallel, gpus):
    os.makedirs(os.path.join(out, "runs"), exist_ok=True)
    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
    todo = [j for j in jobs if not os.path.exists(os.path.join(out, "runs", f"{j[0]}.json"))]
    print(f"[leaderboard] {len(jobs) - len(todo)} of {len(jobs)} runs already done; {len(todo)} to run, "
          f"{parallel} at a time", flush=True)
    lock, counter = threading.Lock(), iter(range(len(todo)))
    free_gpus = list(gpus) if gpus else [None]
    status = {}

    def work(job):
        with lock:
            gpu = free_gpus[next(counter) % len(free_gpus)]
        code = run_one(out, job, common, gpu)
        status[job[0]] = code
        state = "done" if code == 0 else f"failed (exit {code}; see {os.path.join(out, 'logs', job[0] + '.log')})"
        print(f"[leaderboard] {job[0]}: {state}", flush=True)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        list(pool.map(work, todo))
    return status


def load_results(out):
    rows = []
    runs = os.path.join(out, "runs")
    for name in sorted(os.listdir(runs)) if os.path.isdir(runs) else []:
        if name.endswith(".json"):
            with open(os.path.join(runs, name)) as f:
                rows.append(json.load(f))
    return rows


def _mean_std(values, fmt="{:.4f}"):
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    if len(set(values)) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.mean(values))} ± {fmt.format(statistics.stdev(values))}"


def summarize(out):
    """Write <dataset>.md, runs.csv and plots from the result files; returns {dataset: markdown}."""
    rows = load_results(out)
    tables = {}
    for dataset in sorted({r["dataset"] for r in rows}):
        mine = [r for r in rows if r["dataset"] == dataset]
        labels = list(dict.fromkeys(r["label"] for r in mine))
        header = ["model", "seeds"] + [c[0] for c in COLUMNS] + [c[0] for c in COSTS]
        lines = [f"# {dataset}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for label in sorted(labels, key=lambda lb: -statistics.mean(
                [r["test_result"].get("ndcg@10", 0) for r in mine if r["label"] == lb])):
            runs = [r for r in mine if r["label"] == label]
            cells = [label, ", ".join(str(r["seed"]) for r in runs)]
            cells += [_mean_std([r[f"{'best_valid_result' if part == 'valid' else 'test_result'}"].get(key)
                                 for r in runs]) for _, part, key in COLUMNS]
            cells += [_mean_std([r.get(key) for r in runs], fmt) for _, key, fmt in COSTS]
            lines.append("| " + " | ".join(cells) + " |")
        text = "\n".join(lines) + "\n"
        with open(os.path.join(out, f"{dataset}.md"), "w") as f:
            f.write(text)
        tables[dataset] = text
        _plot(mine, os.path.join(out, f"{dataset}.png"), dataset)
    fields = ["dataset", "label", "model", "seed", "params", "epochs", "best_epoch", "train_s_per_epoch",
              "train_s_to_best", "wall_s_to_best", "peak_gpu_mem_gib"]
    metrics = sorted({k for r in rows for k in r["test_result"]})
    with open(os.path.join(out, "runs.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(fields + [f"test {m}" for m in metrics] + [f"valid {m}" for m in metrics])
        for r in rows:
            writer.writerow([r.get(k) for k in fields] + [r["test_result"].get(m) for m in metrics]
                            + [r["best_valid_result"].get(m) for m in metrics])
    return tables


def _plot(rows, path, dataset):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for label in dict.fromkeys(r["label"] for r in rows):
        runs = [r for r in rows if r["label"] == label and r.get("wall_s_to_best") is not None]
        if runs:
            ax.scatter([r["wall_s_to_best"] for r in runs], [r["test_result"].get("ndcg@10") for r in runs],
                       label=label)
    ax.set_xscale("log")
    ax.set_xlabel("wall seconds to the best epoch")
    ax.set_ylabel("test ndcg@10")
    ax.set_title(dataset)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(prog="recbole-mamba-leaderboard", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", required=True, help="comma-separated; NAME or NAME:key=value,key=value")
    p.add_argument("--datasets", default="ml-100k")
    p.add_argument("--seeds", default="2020")
    p.add_argument("--out", default="leaderboard")
    p.add_argument("--parallel", type=int, default=1, help="runs at once")
    p.add_argument("--gpus", default="", help="GPU ids the runs are dealt over (default: what CUDA shows)")
    p.add_argument("--summary_only", action="store_true", help="rewrite the tables from the result files only")
    args, rest = p.parse_known_args(argv)
    from recbole_mamba.config import command_line_keys
    from recbole_mamba.errors import RecBoleMambaError

    try:
        command_line_keys(rest)
    except RecBoleMambaError as exc:
        print(f"recbole-mamba-leaderboard: error: {exc}", file=sys.stderr)
        return 2
    models = _split_models(args.models)
    jobs = plan(models, args.datasets.split(","), [int(s) for s in args.seeds.split(",")])
    for key in ("data_path", "checkpoint_dir"):  # runs start in other processes: paths must not depend on them
        rest = [f"--{key}={os.path.abspath(a.split('=', 1)[1])}" if a.startswith(f"--{key}=") else a for a in rest]
    out = os.path.abspath(args.out)
    if not args.summary_only:
        gpus = [g for g in args.gpus.split(",") if g]
        run_all(out, jobs, rest, args.parallel, gpus)
    tables = summarize(out)
    for text in tables.values():
        print(text)
    print(f"[leaderboard] tables: {', '.join(os.path.join(out, d + '.md') for d in tables)}; runs: "
          f"{os.path.join(out, 'runs.csv')}")
    return 0 if tables else 1


def _split_models(text):
    """Commas separate models, except inside one model's key=value list (a piece that is key=value, no colon)."""
    entries, current = [], ""
    for piece in text.split(","):
        if current and ":" in current and "=" in piece and ":" not in piece.split("=")[0]:
            current += "," + piece
        else:
            if current:
                entries.append(current)
            current = piece
    return entries + ([current] if current else [])


if __name__ == "__main__":
    sys.exit(main())
