"""Leaderboard: models x datasets x seeds under one protocol, run side by side, resumable, summed up per dataset.

    recbole-mamba-leaderboard --models=LatentMamba,SASRec,HMamba:variant=half --datasets=ml-100k,Amazon_Toys \
        --seeds=2020,2021,2022 --data_path=DIR --parallel=4 [--gpus=0,1] [--out=leaderboard] [--key=value ...]

A model entry is NAME or NAME:key=value,key=value (its own settings; the entry is its label). Every other
--key=value applies to every run. Each run is one `recbole-mamba` process (its log in <out>/logs/, its result in
<out>/runs/<tag>.json); up to --parallel run at once, dealt over --gpus. A run whose result file exists, made with
the same --key=value settings, is not run again, so a stopped leaderboard resumes where it stopped. Writes, from
every result file in <out>/runs (recbole_mamba.report): <out>/<dataset>.md and .csv (one table per dataset, best
valid first: mean ± standard deviation over seeds of every test metric and the valid one, parameters, epochs,
seconds per epoch, wall seconds to the best epoch, peak GPU memory; failed runs named under it), <out>/runs.csv and
.md (one row per run) and, with matplotlib, <out>/<dataset>.png (test metric against time to best).
`recbole-mamba --model_list=A,B` is this with one seed (`board`).
"""
import argparse
import concurrent.futures
import json
import os
import re
import statistics
import subprocess
import sys
import threading

from recbole_mamba import report
from recbole_mamba.utils import atomic_write

COSTS = (("params", "params", "{:,.0f}"), ("epochs", "epochs", "{:.0f}"), ("s/epoch", "train_s_per_epoch", "{:.1f}"),
         ("s to best", "wall_s_to_best", "{:.0f}"), ("GPU GiB", "peak_gpu_mem_gib", "{:.1f}"))
RUN_FIELDS = ("dataset", "label", "model", "seed", "params", "epochs", "best_epoch", "train_s_per_epoch",
              "train_s_to_best", "wall_s_to_best", "peak_gpu_mem_gib")


def split_top_level(text):
    """`text` split at the commas outside brackets: 'a=1,b=[0.9,0.98]' -> ['a=1', 'b=[0.9,0.98]']."""
    pieces, depth, current = [], 0, ""
    for ch in text:
        depth += (ch in "[({") - (ch in "])}")
        if ch == "," and depth == 0:
            pieces.append(current)
            current = ""
        else:
            current += ch
    return pieces + [current]


def parse_model(entry):
    """'HMamba:variant=half,adam_betas=[0.9,0.98]' -> ('HMamba', {'variant': 'half', 'adam_betas': '[0.9,0.98]'})."""
    name, _, opts = entry.partition(":")
    settings = dict(opt.split("=", 1) for opt in split_top_level(opts) if opt)
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


def last_line(path):
    """The last non-empty line of a log (a failed run's one-line error), '' if none."""
    try:
        with open(path, errors="replace") as f:
            lines = [line.strip() for line in f if line.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


def run_one(out, job, common, gpu, python=sys.executable):
    """Run one job as a `recbole-mamba` process; (exit code, '' or the last line of its log)."""
    tag, dataset, label, model, settings, seed = job
    result_file = os.path.join(out, "runs", f"{tag}.json")
    log_file = os.path.join(out, "logs", f"{tag}.log")
    cmd = [python, "-m", "recbole_mamba.cli", f"--model={model}", f"--dataset={dataset}", f"--seed={seed}",
           f"--result_json={result_file}", f"--checkpoint_dir={os.path.join(out, 'ck', tag)}",
           "--show_progress=False", *common, *[f"--{k}={v}" for k, v in settings.items()]]
    env = dict(os.environ)
    if gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = str(gpu)
    with open(log_file, "w") as log:
        code = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env).returncode
    if code != 0:
        return code, last_line(log_file)
    with open(result_file) as f:  # the label, seed and settings this run stands for, beside what it reported
        result = json.load(f)
    result.update(label=label, seed=seed, settings=settings, common=list(common))
    with atomic_write(result_file) as f:
        json.dump(result, f, indent=1)
    return 0, ""


def is_done(out, job, common):
    """Whether the job's result file exists and was made with the same common settings."""
    path = os.path.join(out, "runs", f"{job[0]}.json")
    if not os.path.exists(path):
        return False
    with open(path) as f:
        return json.load(f).get("common") == list(common)


def run_all(out, jobs, common, parallel, gpus, prefix="[leaderboard]"):
    """Run the jobs not done yet, `parallel` at a time; {tag: (exit code, error line)} of those run."""
    os.makedirs(os.path.join(out, "runs"), exist_ok=True)
    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
    todo = [j for j in jobs if not is_done(out, j, common)]
    print(f"{prefix} {len(jobs) - len(todo)} of {len(jobs)} runs already done; {len(todo)} to run, "
          f"{parallel} at a time", flush=True)
    lock, counter = threading.Lock(), iter(range(len(todo)))
    free_gpus = list(gpus) if gpus else [None]
    status = {}

    def work(job):
        with lock:
            gpu = free_gpus[next(counter) % len(free_gpus)]
        code, error = run_one(out, job, common, gpu)
        status[job[0]] = code, error
        state = "done" if code == 0 else f"failed (exit {code}: {error}; log {os.path.join(out, 'logs', job[0])}.log)"
        print(f"{prefix} {job[0]}: {state}", flush=True)

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


def _mean(values):
    values = [v for v in values if v is not None]
    return statistics.mean(values) if values else None


def valid_key(rows):
    """The metric that chose the runs' best epochs (`--valid_metric`): recorded in each result as `valid_metric`;
    in an older result, the one metric of `best_valid_result` equal to `best_valid_score`. None if unknown."""
    for r in rows:
        if r.get("valid_metric"):
            return r["valid_metric"]
        same = [m for m, v in r.get("best_valid_result", {}).items() if v == r.get("best_valid_score")]
        if len(same) == 1:
            return same[0]
    return None


def summarize(out, failed=None):
    """Write <dataset>.md/.csv, runs.md/.csv and plots from the result files; `failed` ({tag: (code, error)}) is
    named under its dataset's table. Returns {dataset: markdown}."""
    rows, failed = load_results(out), failed or {}
    metrics = list(dict.fromkeys(k for r in rows for k in r["test_result"]))
    key = "ndcg@10" if "ndcg@10" in metrics else (metrics[0] if metrics else None)
    metrics = sorted(metrics, key=lambda m: m != key)  # the ranking metric first
    tables = {}
    datasets = {r["dataset"] for r in rows} | {tag.split("__")[0] for tag in failed}
    for dataset in sorted(datasets):
        mine = [r for r in rows if r["dataset"] == dataset]
        chose = valid_key(mine) or key
        labels = sorted(dict.fromkeys(r["label"] for r in mine),  # best on valid first (valid chooses, not test)
                        key=lambda lb: -(_mean([r["best_valid_result"].get(chose) for r in mine
                                                if r["label"] == lb]) or 0))
        header = (["model", "seeds"] + [f"test {m}" for m in metrics] + ([f"valid {chose}"] if chose else [])
                  + [c[0] for c in COSTS])
        plain, shown = [], []
        for label in labels:
            runs = [r for r in mine if r["label"] == label]
            parts = [[r["test_result"].get(m) for r in runs] for m in metrics]
            parts += [[r["best_valid_result"].get(chose) for r in runs]] if chose else []
            costs = [[r.get(k) for r in runs] for _, k, _ in COSTS]
            seeds = ", ".join(str(r["seed"]) for r in runs)
            plain.append([label, seeds] + [_mean(v) for v in parts + costs])
            shown.append([label, seeds] + [_mean_std(v) for v in parts]
                         + [_mean_std(v, fmt) for v, (_, _, fmt) in zip(costs, COSTS)])
        notes = [f"failed: {tag} (exit {code}): {error}" for tag, (code, error) in sorted(failed.items())
                 if tag.startswith(dataset + "__") and code != 0]
        tables[dataset], _ = report.write_table(os.path.join(out, dataset), header, plain, title=dataset,
                                                md_rows=shown, notes=notes)
        if key:
            report.plot(os.path.join(out, f"{dataset}.png"),
                        {lb: [(r.get("wall_s_to_best"), r["test_result"].get(key)) for r in mine if r["label"] == lb]
                         for lb in labels}, "wall seconds to the best epoch", f"test {key}", dataset, xlog=True)
    report.write_table(os.path.join(out, "runs"), list(RUN_FIELDS) + [f"test {m}" for m in metrics]
                       + [f"valid {m}" for m in metrics],
                       [[r.get(k) for k in RUN_FIELDS] + [r["test_result"].get(m) for m in metrics]
                        + [r["best_valid_result"].get(m) for m in metrics] for r in rows], title="runs")
    return tables


def absolute_paths(common):
    """The --data_path/--checkpoint_dir/--config_files values made absolute: runs start in other processes."""
    out = []
    for arg in common:
        key, _, value = arg[2:].partition("=")
        if key in ("data_path", "checkpoint_dir"):
            arg = f"--{key}={os.path.abspath(value)}"
        elif key == "config_files":
            arg = f"--{key}=" + " ".join(os.path.abspath(v) for v in value.split())
        out.append(arg)
    return out


def board(models, datasets, seeds, common, out, parallel=1, gpus=(), summary_only=False, prefix="[leaderboard]"):
    """Run (unless summary_only) and sum up models x datasets x seeds into `out`; prints the tables and where they
    are. Returns ({dataset: markdown}, [tags of the planned runs that have a result now])."""
    out, common = os.path.abspath(out), absolute_paths(common)
    jobs = plan(models, datasets, seeds)
    status = {} if summary_only else run_all(out, jobs, common, parallel, gpus, prefix)
    tables = summarize(out, status)
    for text in tables.values():
        print(text, flush=True)
    print(f"{prefix} tables: {', '.join(os.path.join(out, d + '.md') for d in tables)}; runs: "
          f"{os.path.join(out, 'runs.csv')}", flush=True)
    return tables, [job[0] for job in jobs if is_done(out, job, common)]


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
        if "seed" in command_line_keys(rest):
            raise RecBoleMambaError("--seed is one run's; a leaderboard takes --seeds=2020,2021,...")
    except RecBoleMambaError as exc:
        print(f"recbole-mamba-leaderboard: error: {exc}", file=sys.stderr)
        return 2
    models = _split_models(args.models)
    tables, _ = board(models, args.datasets.split(","), [int(x) for x in args.seeds.split(",")], rest, args.out,
                      args.parallel, [g for g in args.gpus.split(",") if g], args.summary_only)
    return 0 if tables else 1


def _split_models(text):
    """Commas separate models, except inside one model's key=value list (a piece that is key=value, no colon)."""
    entries, current = [], ""
    for piece in split_top_level(text):
        if current and ":" in current and "=" in piece and ":" not in piece.split("=")[0]:
            current += "," + piece
        else:
            if current:
                entries.append(current)
            current = piece
    return entries + ([current] if current else [])


if __name__ == "__main__":
    sys.exit(main())
