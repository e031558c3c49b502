"""Hyperparameter tuning over a RecBole params file, with hyperopt (RecBole's HyperTuning) or Ray Tune.

    recbole-mamba-tune --model=LatentMamba --dataset=ml-1m --tool=hyperopt --algo=bayes --max_evals=20
        [--params_file=my.hyper] [--config_files=...] [--key=value ...]
    recbole-mamba-tune --model=HMamba --tool=ray --max_evals=16 --cpus_per_trial=2 --gpus_per_trial=0.25
        [--ray_address=auto]

(`python run_hyper.py` in a source checkout.) The search space defaults to the model's shipped file
(recbole_mamba/properties/hyper/<model>.hyper). Params file (RecBole's format), one line per parameter:
`name choice [a,b]`, `name uniform lo,hi`, `name loguniform log_lo,log_hi` or `name quniform lo,hi,q`. Every trial
is one `quick_start.run` (our models or RecBole's), so tuning uses the same code path and protocol as a single
run; its test metrics are those of its best validated model. Output in --output_dir, rewritten after every trial
(hyperopt) so a stopped search keeps what it finished: a Markdown and a CSV table of the trials (params, valid
metric, test metrics, epochs, best epoch, s/epoch, parameters), with hyperopt <model>-curves.csv (the valid metric
after every epoch of every trial), and best_config.yaml.
"""
import argparse
import contextlib
import csv
import io
import math
import os
import shutil
import sys
import tempfile
import time

import yaml

from recbole_mamba import report
from recbole_mamba.quick_start import run

ALGOS = {"hyperopt": ("exhaustive", "random", "bayes"), "ray": ("grid", "random")}
NEEDS = {"hyperopt": ("hyperopt",), "ray": ("ray", "pyarrow")}  # what each tool imports (pyarrow: Ray's results)


def missing_modules(tool):
    """The modules `tool` needs that are not installed here (looked up, not imported, before any trial runs)."""
    import importlib.util

    missing = []
    for name in NEEDS[tool]:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # ValueError: a module set to None in sys.modules
            found = False
        if not found:
            missing.append(name)
    return missing


def read_params_file(path):
    """[(name, kind, value)] from a RecBole .hyper file; kind in choice|uniform|loguniform|quniform."""
    params = []
    with open(path) as f:
        for line in f:
            parts = line.strip().split(" ")
            if len(parts) < 3 or line.lstrip().startswith("#"):
                continue
            name, kind, raw = parts[0], parts[1], "".join(parts[2:])
            if kind == "choice":
                value = yaml.safe_load(raw)
            elif kind in ("uniform", "loguniform", "quniform"):
                value = [float(v) for v in raw.split(",")]
            else:
                raise ValueError(f"{path}: unknown parameter type {kind!r} for {name}")
            params.append((name, kind, value))
    if not params:
        raise ValueError(f"{path} defines no parameters")
    return params


def trial(model, dataset, fixed, config_file_list, params, checkpoint_root, verbose=False, on_validation=None):
    """One tuning trial: a full run whose test metrics are those of its best-validated model (as in a single run);
    returns RecBole's objective dict plus quick_start's cost figures and valid curve. The trial writes its
    checkpoints into a folder of its own under `checkpoint_root` (trials may run at once), removed when it ends."""
    os.makedirs(checkpoint_root, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="trial_", dir=checkpoint_root)
    config = {**fixed, **params, "show_progress": False, "checkpoint_dir": folder}
    try:
        return run(model, dataset, config_file_list=config_file_list, config_dict=config, cmd_args=[], saved=True,
                   verbose=verbose, on_validation=on_validation)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def tune_hyperopt(model, dataset, params, fixed, config_file_list, algo, max_evals, output_dir, verbose=False):
    from hyperopt import hp
    from recbole.trainer import HyperTuning

    from recbole_mamba import compat

    compat.patch_hyperopt_exhaustive_rng()
    space = {}
    for name, kind, value in params:
        space[name] = hp.choice(name, value) if kind == "choice" else getattr(hp, kind)(name, *value)
    rows = []

    valid_metric = fixed.get("valid_metric", "NDCG@10")
    console = sys.stdout  # RecBole's own prints are silenced below, ours are not

    def objective(config_dict, files):
        started = time.perf_counter()
        result = trial(model, dataset, fixed, files, config_dict, os.path.join(output_dir, "checkpoints"), verbose)
        rows.append({**result, "tuned": dict(config_dict), "trial": len(rows) + 1})
        write_results(rows, output_dir, model, valid_metric)  # a stopped search keeps these
        print(trial_line(rows[-1], tuner.max_evals, valid_metric, time.perf_counter() - started), file=console,
              flush=True)
        return result

    class QuietTuning(HyperTuning):
        """RecBole's search without its prints inside hyperopt's progress bar: one line per trial instead."""

        def run(self):
            from hyperopt import fmin

            with contextlib.redirect_stdout(io.StringIO()):  # RecBole's per-trial prints
                fmin(self.trial, self.space, algo=self.algo, max_evals=self.max_evals,
                     early_stop_fn=self.early_stop_fn, show_progressbar=False)

    tuner = QuietTuning(objective, space=space, fixed_config_file_list=config_file_list, algo=algo,
                        max_evals=max_evals)
    tuner.max_evals = min(tuner.max_evals, max_evals)  # RecBole's exhaustive search would run the whole grid
    tuner.run()
    return rows


def trial_line(row, total, valid_metric, seconds):
    """`[trial 2/10] learning_rate=0.001 n_layers=2: valid ndcg@10 0.1004, test ndcg@10 0.0942 (12 epochs, 31 s)`."""
    key = valid_metric.lower()
    tuned = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row["tuned"].items())
    test = row["test_result"].get(key)
    return (f"[trial {row['trial']}/{total}] {tuned}: valid {key} {row['best_valid_score']:.4f}"
            + (f", test {key} {test:.4f}" if test is not None else "")
            + f" ({row.get('epochs')} epoch{'' if row.get('epochs') == 1 else 's'}, {seconds:.0f} s)")


def _ray_worker_setup():
    from recbole_mamba import compat

    compat.patch_numpy_aliases()  # Ray 2.6.3's workers import ray.tune (np.bool8) before any user code


def tune_ray(model, dataset, params, fixed, config_file_list, algo, max_evals, cpus, gpus, address, local_mode,
             output_dir, scheduler="fifo", grace_period=5):
    """Ray Tune: every validation of a trial is reported (`best_valid_score` = the best valid score so far, `epoch`),
    so that `scheduler=asha` can stop weak trials after `grace_period` validations; trials are ranked on valid, and a
    trial's last report adds its test metrics."""
    from recbole_mamba import compat

    compat.patch_numpy_aliases()
    import ray
    from ray import tune

    space = {}
    for name, kind, value in params:
        if kind == "choice":
            space[name] = tune.grid_search(value) if algo == "grid" else tune.choice(value)
        elif kind == "loguniform":  # hyperopt's bounds are logs
            space[name] = tune.loguniform(math.exp(value[0]), math.exp(value[1]))
        else:
            space[name] = getattr(tune, kind)(*value)

    checkpoints = os.path.abspath(os.path.join(output_dir, "checkpoints"))  # Ray's workers run in other folders

    def trainable(config):
        best = []

        def report(epoch, score):
            best.append(max([float(score), *best[-1:]]))
            tune.report(best_valid_score=best[-1], valid_score=float(score), epoch=int(epoch))

        result = trial(model, dataset, fixed, config_file_list, config, checkpoints, on_validation=report)
        tune.report(best_valid_score=float(result["best_valid_score"]), node=ray.get_runtime_context().get_node_id(),
                    **{f"valid_{k}": float(v) for k, v in result["best_valid_result"].items()},
                    **{f"test_{k}": float(v) for k, v in result["test_result"].items()})
        # no return value: Ray would record it as a second result without the metric

    if not ray.is_initialized():
        ray.init(address=address, local_mode=local_mode, include_dashboard=False, log_to_driver=False,
                 runtime_env=None if local_mode else {"worker_process_setup_hook": _ray_worker_setup})
    early_stop = None
    if scheduler == "asha":
        from ray.tune.schedulers import ASHAScheduler

        early_stop = ASHAScheduler(time_attr="training_iteration", grace_period=grace_period)
    analysis = tune.run(trainable, config=space, num_samples=1 if algo == "grid" else max_evals,
                        resources_per_trial={"cpu": cpus, "gpu": gpus}, metric="best_valid_score", mode="max",
                        scheduler=early_stop,
                        local_dir=os.path.abspath(os.path.join(output_dir, "ray_results")), verbose=1)
    rows = []
    for i, t in enumerate(analysis.trials):
        res = t.last_result or {}
        rows.append(dict(tuned={k: t.config[k] for k in space}, best_valid_score=res.get("best_valid_score"),
                         best_valid_result={k[6:]: v for k, v in res.items() if k.startswith("valid_")},
                         test_result={k[5:]: v for k, v in res.items() if k.startswith("test_")},
                         status=t.status, trial=i + 1, node=res.get("node")))
    return rows


def grid_size(params):
    """Number of combinations of the `choice` parameters (what a grid search runs)."""
    return math.prod(len(value) for _, kind, value in params if kind == "choice")


def prepare_fixed(model, dataset, config_file_list, fixed):
    """`fixed` with relative paths made absolute (Ray runs every trial in a folder of its own), after the config
    and the dataset files were checked once: a bad value or a missing dataset fails before the first trial."""
    from recbole_mamba.quick_start import check_dataset, make_config

    fixed = dict(fixed)
    if isinstance(fixed.get("checkpoint_dir"), str):
        fixed["checkpoint_dir"] = os.path.abspath(fixed["checkpoint_dir"])
    config = make_config(model, dataset, config_file_list, config_dict=fixed, cmd_args=[])
    check_dataset(config)
    fixed["data_path"] = os.path.dirname(os.path.abspath(config["data_path"]))  # RecBole's is <data_path>/<dataset>
    return fixed


RUN_COLUMNS = (("epochs", "epochs"), ("best epoch", "best_epoch"), ("train s/epoch", "train_s_per_epoch"),
                ("params", "params"), ("trial", "trial"))


def write_results(rows, output_dir, model, valid_metric):
    """<model>-tuning.csv/.md (one row per finished trial, best valid first), <model>-best_config.yaml and, where
    the trials report it, <model>-curves.csv (the valid metric after every epoch of every trial). Returns the best
    trial's row (None before any trial finished)."""
    os.makedirs(output_dir, exist_ok=True)
    done = [r for r in rows if r.get("best_valid_score") is not None]
    done.sort(key=lambda r: -r["best_valid_score"])
    names = sorted({k for r in rows for k in r["tuned"]})
    metrics = sorted({k for r in done for k in r["test_result"]})
    extra = [(title, key) for title, key in RUN_COLUMNS if any(r.get(key) is not None for r in done)]
    header = names + [f"valid {valid_metric.lower()}"] + [f"test {m}" for m in metrics] + [t for t, _ in extra]
    table = [[r["tuned"].get(n) for n in names] + [r["best_valid_score"]] + [r["test_result"].get(m) for m in metrics]
             + [r.get(key) for _, key in extra] for r in done]
    report.write_table(os.path.join(output_dir, f"{model}-tuning"), header, table, title=f"{model} tuning")
    curves = [(r.get("trial"), r["tuned"], epoch, score) for r in rows for epoch, score in r.get("valid_curve") or []]
    if curves:
        with open(os.path.join(output_dir, f"{model}-curves.csv"), "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["trial"] + names + ["epoch", f"valid {valid_metric.lower()}"])
            writer.writerows([[t] + [tuned.get(n) for n in names] + [epoch, score]
                              for t, tuned, epoch, score in curves])
    with open(os.path.join(output_dir, f"{model}-best_config.yaml"), "w") as f:
        yaml.safe_dump(done[0]["tuned"] if done else {}, f)
    return done[0] if done else None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="LatentMamba")
    p.add_argument("--dataset", default="ml-100k")
    p.add_argument("--params_file", default=None, help="default: properties/hyper/<model>.hyper")
    p.add_argument("--config_files", default=None)
    p.add_argument("--tool", choices=ALGOS, default="hyperopt")
    p.add_argument("--algo", default=None, help="hyperopt: exhaustive|random|bayes; ray: grid|random")
    p.add_argument("--max_evals", type=int, default=10)
    p.add_argument("--output_dir", default="hyper")
    p.add_argument("--cpus_per_trial", type=float, default=1)
    p.add_argument("--gpus_per_trial", type=float, default=0)
    p.add_argument("--ray_address", default=None, help="an existing Ray cluster (e.g. auto); default: local")
    p.add_argument("--ray_local_mode", action="store_true", help="run trials in this process (debugging, tests)")
    p.add_argument("--ray_scheduler", choices=("fifo", "asha"), default="fifo",
                   help="asha: stop weak trials early on their per-epoch valid reports")
    p.add_argument("--grace_period", type=int, default=5, help="asha: validations every trial gets before a stop")
    p.add_argument("--verbose", action="store_true", help="hyperopt: log every epoch of every trial (RecBole's log)")
    args, rest = p.parse_known_args(argv)
    from recbole_mamba.config import property_file
    from recbole_mamba.errors import RecBoleMambaError

    algo = args.algo or ALGOS[args.tool][0 if args.tool == "ray" else 2]
    if algo not in ALGOS[args.tool]:
        p.error(f"--algo for {args.tool} must be one of {', '.join(ALGOS[args.tool])}")
    from recbole_mamba.config import command_line_keys

    try:
        fixed = {key: yaml.safe_load(value) for key, value in command_line_keys(rest).items()}
        missing = missing_modules(args.tool)
        if missing:
            raise RecBoleMambaError(f"--tool={args.tool} needs {' and '.join(missing)}, not installed here: "
                                    f"pip install \"recbole-mamba[tune]\" (or pip install {' '.join(missing)})")
        params_file = args.params_file or property_file("hyper", f"{args.model}.hyper")
        files = [os.path.abspath(f) for f in args.config_files.split()] if args.config_files else None
        params = read_params_file(params_file)
        fixed = prepare_fixed(args.model, args.dataset, files, fixed)  # errors before any trial starts
        if args.tool == "ray" and algo == "grid":
            size = grid_size(params)
            if size > args.max_evals:
                raise ValueError(f"the grid of {params_file} has {size} combinations but --max_evals={args.max_evals}: "
                                 f"raise --max_evals to {size}, or use --algo=random to sample {args.max_evals}")
        if args.tool == "hyperopt":
            rows = tune_hyperopt(args.model, args.dataset, params, fixed, files, algo, args.max_evals, args.output_dir,
                                 args.verbose)
        else:
            rows = tune_ray(args.model, args.dataset, params, fixed, files, algo, args.max_evals, args.cpus_per_trial,
                            args.gpus_per_trial, args.ray_address, args.ray_local_mode, args.output_dir,
                            args.ray_scheduler, args.grace_period)
    except (RecBoleMambaError, ValueError, FileNotFoundError) as exc:
        print(f"recbole-mamba-tune: error: {exc}", file=sys.stderr)
        return 2
    key = fixed.get("valid_metric", "NDCG@10").lower()
    top = write_results(rows, args.output_dir, args.model, key)
    if top:  # chosen on valid; its test metrics (of its best-validated model) reported here, once
        test = top["test_result"].get(key)
        print(f"best trial {top.get('trial')} (chosen on valid {key} {top['best_valid_score']:.4f}): "
              f"test {key} " + (f"{test:.4f}" if test is not None else "not reported"))
    print(f"best params: {top['tuned'] if top else {}}\nresults: "
          f"{os.path.join(args.output_dir, args.model + '-tuning.md')}")
    return 0


__all__ = ["main", "read_params_file", "tune_hyperopt", "tune_ray", "write_results"]
