"""Results table from RecBole run logs (ours or RecBole's), for docs/results.md.

    python benchmarks/collect_results.py LOG [LOG ...] [--md out.md]
    python benchmarks/collect_results.py --curves LOG [LOG ...]
    python benchmarks/collect_results.py --by-config LOG [LOG ...]

One row per log file (named NAME_SEED.log by benchmarks/accuracy_suite.sh; a resumed run appends to its log):
status (early-stopped = converged under the protocol; finished = ran out of epochs; running/interrupted), epochs
trained, best epoch, best valid NDCG@10, test metrics, median train s/epoch, peak GPU memory, parameters, seed.
Only what the log says is reported; a run without a test result gets none.
--curves prints instead each run's valid NDCG@10 per epoch side by side and, for each later run against the first,
their mean and largest difference over the epochs both have (absolute and relative to the first run), and how often
the later run is ahead of, level with or behind the first, with the mean and range of (later - first). --from-epoch K
limits those comparisons to epochs K and later. A tuner's <model>-curves.csv (run_hyper.py) may stand among the logs:
each of its trials is one run there, named FOLDER#TRIAL key=value,... (curves only).
--by-config prints one row per config instead (the run name without its seed: NAME_SEED_key-value... ->
NAME key-value...): the seeds that early-stopped, their test NDCG@10 each, the means of the test metrics over them, and
the runs of that config that have not (yet) early-stopped, which count in no mean. Where two logs have the same run
name (a run filed in two session folders), the one given later stands.
"""
import argparse
import csv
import os
import re
import statistics
import sys

# RecBole's epoch lines, read from the whole log: run_hyper.py --verbose logs (a trial still training: its curves.csv
# is written only when it ends) break them at every color code, "epoch 0 evaluating\n [\ntime\n: 3.99s, \nvalid_score\n:
# 0.085100]"
EPOCH_TRAIN = re.compile(r"epoch (\d+) training\s*\[\s*time\s*: ([\d.]+)s")
EPOCH_VALID = re.compile(r"epoch (\d+) evaluating\s*\[\s*time\s*: [\d.]+s,\s*valid_score\s*: ([\d.]+)\]")
FINISHED = re.compile(r"Finished training, best eval result in epoch (\d+)")
METRIC = re.compile(r"'([a-z]+@\d+)'[:,] (?:np\.float64\()?([\d.]+)")
SETTING = re.compile(r"^(seed|variant|epochs|enable_amp|MAX_ITEM_LIST_LENGTH) = (.+)$")
PARAMS = re.compile(r"trainable parameters: (\d+)")
PEAK = re.compile(r"peak GPU memory ([\d.]+) GiB")


def parse(path):
    settings = {}
    best_valid = test = None
    finished = params = peak = None
    with open(path, errors="replace") as f:
        text = f.read()
    # a resumed run appends to its log: a repeated epoch's later reading stands
    train = {int(e): float(t) for e, t in EPOCH_TRAIN.findall(text)}
    valid = {int(e): float(v) for e, v in EPOCH_VALID.findall(text)}
    for line in text.splitlines():
        if m := FINISHED.search(line):
                finished = int(m[1])
        elif "best valid :" in line:
            best_valid = dict((k, float(v)) for k, v in METRIC.findall(line))
        elif "test result:" in line:
            test = dict((k, float(v)) for k, v in METRIC.findall(line))
        elif m := PARAMS.search(line):
            params = int(m[1])
        elif m := SETTING.match(line):
            settings[m[1]] = m[2]
        if m := PEAK.search(line):
            peak = float(m[1])
    epochs = len(train)
    if finished is not None:
        status = "early-stopped"
    elif test is not None:
        status = "finished (ran out of epochs)"
    else:
        status = "running or interrupted"
    best_epoch = finished
    if best_epoch is None and valid:
        best_epoch = max(sorted(valid), key=lambda e: valid[e])  # first epoch with the best score
    return {
        "run": os.path.splitext(os.path.basename(path))[0], "status": status, "epochs": epochs,
        "best_epoch": best_epoch, "best_valid_ndcg@10": max(valid.values()) if valid else None,
        "valid": best_valid or {}, "test": test or {}, "curve": valid,
        "s_per_epoch": statistics.median(train.values()) if train else None,
        "peak_gib": peak, "params": params, **{k: settings.get(k) for k in ("seed", "variant", "enable_amp")},
    }


def parse_tuning_curves(path):
    """One curve-only run per trial of a run_hyper.py <model>-curves.csv (trial, params..., epoch, valid score)."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    names, runs = rows[0][1:-2], {}
    folder = os.path.basename(os.path.dirname(os.path.abspath(path)))
    for row in rows[1:]:
        params = ",".join(f"{k}={v}" for k, v in zip(names, row[1:-2]))
        run = runs.setdefault(row[0], {"run": f"{folder}#{row[0]} {params}", "curve": {}})
        run["curve"][int(row[-2])] = float(row[-1])
    return list(runs.values())


def fmt(value, digits=4):
    if value is None:
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def table(rows):
    keys = ["ndcg@10", "hit@10", "mrr@10", "ndcg@20", "hit@20", "mrr@20"]
    head = ["run", "status", "epochs", "best epoch", "valid NDCG@10"] + [f"test {k}" for k in keys] + \
        ["s/epoch", "peak GiB", "params", "seed"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        valid_ndcg = r["valid"].get("ndcg@10", r["best_valid_ndcg@10"])
        cells = [r["run"], r["status"], str(r["epochs"]), fmt(r["best_epoch"]), fmt(valid_ndcg)]
        cells += [fmt(r["test"].get(k)) for k in keys]
        cells += [fmt(r["s_per_epoch"], 1), fmt(r["peak_gib"], 2), fmt(r["params"]), fmt(r["seed"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


RUN_NAME = re.compile(r"^(.+?)_(\d{4})(?:_(.+))?$")  # NAME_SEED[_key-value_...], as accuracy_suite.sh names runs


def config_of(run):
    m = RUN_NAME.match(run)
    return (m[1] + (f" {m[3]}" if m[3] else "")) if m else run


def by_config(rows):
    latest = {r["run"]: r for r in rows}  # a later log of the same run replaces an earlier one
    groups = {}
    for r in latest.values():
        groups.setdefault(config_of(r["run"]), []).append(r)
    keys = ["ndcg@10", "hit@10", "mrr@10", "ndcg@20"]
    head = ["config", "converged seeds", "test NDCG@10 per seed"] + [f"mean test {k}" for k in keys] + \
        ["params", "not converged"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in sorted(groups):
        runs = sorted(groups[name], key=lambda r: str(r["seed"]))
        done = [r for r in runs if r["status"] == "early-stopped" and r["test"]]
        cells = [name, " / ".join(fmt(r["seed"]) for r in done) or "–",
                 " / ".join(fmt(r["test"].get("ndcg@10")) for r in done) or "–"]
        for k in keys:
            values = [r["test"][k] for r in done if k in r["test"]]
            cells.append(fmt(statistics.mean(values)) if values and len(values) == len(done) else "–")
        params = {r["params"] for r in runs if r["params"] is not None}
        cells.append(" / ".join(str(p) for p in sorted(params)) or "–")
        cells.append(", ".join(f"{r['run']} ({r['status']}, {r['epochs']} epochs)" for r in runs if r not in done)
                     or "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def curves(rows, from_epoch=0):
    epochs = sorted(set().union(*(r["curve"] for r in rows)))
    lines = ["epoch\t" + "\t".join(r["run"] for r in rows)]
    lines += [f"{e}\t" + "\t".join(fmt(r["curve"].get(e)) for r in rows) for e in epochs]
    a = rows[0]["curve"]
    for other in rows[1:]:
        b = other["curve"]
        both = [e for e in epochs if e in a and e in b and e >= from_epoch]
        diff = [abs(b[e] - a[e]) for e in both]
        rel = [abs(b[e] - a[e]) / a[e] for e in both if a[e]]
        if both:
            lines.append(f"|difference| over {len(both)} common epochs: mean {statistics.mean(diff):.4f} "
                         f"({statistics.mean(rel):.1%}), max {max(diff):.4f} ({max(rel):.1%})")
            signed = [round(b[e] - a[e], 6) for e in both]  # the logs print 6 decimals
            level = [e for e, d in zip(both, signed) if d == 0]
            lines.append(f"{other['run']} - {rows[0]['run']} over epochs {both[0]}-{both[-1]}: "
                         f"ahead at {sum(d > 0 for d in signed)}, level at {len(level)} {level}, "
                         f"behind at {sum(d < 0 for d in signed)}; mean {statistics.mean(signed):+.4f}, "
                         f"range {min(signed):+.4f} to {max(signed):+.4f}")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("logs", nargs="+")
    p.add_argument("--md", default=None, help="also write the table here")
    p.add_argument("--curves", action="store_true", help="valid NDCG@10 per epoch instead of the table")
    p.add_argument("--from-epoch", type=int, default=0, help="with --curves: compare two runs from this epoch on")
    p.add_argument("--by-config", action="store_true", help="one row per config, means over its early-stopped seeds")
    args = p.parse_args()
    rows = []
    for path in args.logs:
        rows += parse_tuning_curves(path) if path.endswith("-curves.csv") else [parse(path)]
    if not args.curves and any("status" not in r for r in rows):
        p.error("a tuner's curves file has no table row: use it with --curves")
    out = curves(rows, args.from_epoch) if args.curves else by_config(rows) if args.by_config else table(rows)
    print(out)
    if args.md:
        with open(args.md, "w") as f:
            f.write(out + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
