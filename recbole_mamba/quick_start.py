"""Run one model (ours or RecBole's) through RecBole's data pipeline, trainer and evaluator."""
import logging
import sys
from logging import getLogger

import torch

from recbole_mamba import distributed
from recbole_mamba.config import ConfigError, checkpoint_settings, make_config, property_file
from recbole_mamba.data import check_dataset, domain_loaders, domain_of_items, load_dataset, prepare_data
from recbole_mamba.objective import model_class_for
from recbole_mamba.trainer import load_resumable
from recbole_mamba.utils import get_model, get_trainer

from recbole.utils import init_logger, init_seed, set_color  # noqa: E402  (after compat, via config)


def build_model(config, dataset):
    """The model of `config` on `dataset` (RecBole's causal models with the objective's loss: objective.py)."""
    return model_class_for(config, get_model(config["model"]))(config, dataset)


def readable(result):
    """RecBole's result dict as `hit@10 0.0668  ndcg@10 0.0310` (plain floats, 4 decimals)."""
    return "  ".join(f"{k} {float(v):.4f}" for k, v in (result or {}).items())


def resume_settings(state, model=None, dataset=None, config_dict=None):
    """(model, dataset, config_dict) of the run that wrote the resumable checkpoint `state`; what the
    caller gives explicitly wins."""
    merged = {**checkpoint_settings(state), **(config_dict or {})}
    return model or state["config"]["model"], dataset or state["config"]["dataset"], merged


def run(model=None, dataset=None, config_file_list=None, config_dict=None, cmd_args=None, saved=True,
        verbose=True, resume=None, on_validation=None):
    """Train, validate and test one model; returns RecBole's result dict plus cost figures.

    Keys: best_valid_score, valid_score_bigger, best_valid_result, test_result, model, dataset,
    params, epochs, best_epoch, valid_curve ([(epoch, valid score)] of every validation), train_s_per_epoch,
    peak_gpu_mem_gib (None on CPU), saved_model_file.
    resume: a `<model>-<time>-last.pth` file written by an earlier run: training continues from it with
    every random state restored (same result as the uninterrupted run); its settings are the defaults.
    on_validation: called as on_validation(epoch, valid_score) after every validation (e.g. a tuner's report).
    """
    resumed = None
    if resume:  # read before any data is loaded, so a bad file fails fast
        resumed = load_resumable(resume)
        model, dataset, config_dict = resume_settings(resumed, model, dataset, config_dict)
    config = make_config(model, dataset, config_file_list, config_dict, cmd_args)
    if distributed.wanted(config):  # nproc > 1: this process starts the ranks and returns rank 0's result
        check_dataset(config)
        return distributed.launch(_run_rank, config, model, dataset, config_file_list, config_dict, cmd_args,
                                  saved, verbose, resume)
    init_seed(config["seed"], config["reproducibility"])
    init_logger(config)
    logger = getLogger()
    if not verbose:
        logger.setLevel(logging.WARNING)
    check_dataset(config)  # a missing or malformed file fails before the config dump and any work
    logger.info(sys.argv)
    logger.info(config)

    dataset_obj = load_dataset(config)
    logger.info(dataset_obj)
    train_data, valid_data, test_data = prepare_data(config, dataset_obj)
    decimals = config["metric_decimal_place"]
    if not config["single_spec"]:  # a rank: its own users to evaluate, metrics unrounded until reduced
        valid_data, test_data = distributed.shard(config, valid_data), distributed.shard(config, test_data)
        config["metric_decimal_place"] = distributed.EXACT_DECIMALS

    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model_obj = build_model(config, train_data._dataset).to(config["device"])
    logger.info(model_obj)
    params = sum(p.numel() for p in model_obj.parameters() if p.requires_grad)
    logger.info(set_color("trainable parameters", "blue") + f": {params}")

    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model_obj)
    if not config["single_spec"]:
        trainer.metric_decimals = decimals  # what the reduced metrics are rounded to
        trainer.saved_model_file = distributed.same_on_every_rank(trainer.saved_model_file)
    item_domain = domain_of_items(dataset_obj, config)
    if item_domain is not None:  # on the device once, not in every evaluation batch
        trainer.item_domain = item_domain.to(config["device"])
    timer = trainer.recorder
    if resume:
        trainer.resume_checkpoint(resume, resumed)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    best_valid_score, best_valid_result = trainer.fit(
        train_data, valid_data, saved=saved, show_progress=config["show_progress"], verbose=verbose,
        callback_fn=on_validation)
    if not config["single_spec"]:
        torch.distributed.barrier()  # rank 0 has written the best model
    test_result = trainer.evaluate(test_data, load_best_model=saved, show_progress=config["show_progress"])
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
    by_domain = {}
    if item_domain is not None:  # the best model (loaded by the test evaluation) on each domain's users alone
        for split, data in (("valid", valid_data), ("test", test_data)):
            for name, part in domain_loaders(config, data, item_domain, dataset_obj):
                by_domain.setdefault(name, {})[split] = dict(trainer.evaluate(part, load_best_model=False))
                logger.info(set_color(f"{split} {name}", "yellow") + f": {readable(by_domain[name][split])}")

    logger.info(set_color("best valid ", "yellow") + f": {readable(best_valid_result)}")
    logger.info(set_color("test result", "yellow") + f": {readable(test_result)}")
    s_per_epoch = sum(timer.seconds) / len(timer.seconds) if timer.seconds else None
    best_epoch = timer.best_epoch(config["valid_metric_bigger"])
    logger.info(set_color("train s/epoch", "blue") + (f": {s_per_epoch:.2f}" if s_per_epoch else ": –")
                + (f", peak GPU memory {peak:.2f} GiB" if peak is not None else ""))
    return {
        "model": config["model"],
        "dataset": config["dataset"],
        "best_valid_score": best_valid_score,
        "valid_metric": config["valid_metric"].lower(),
        "valid_score_bigger": config["valid_metric_bigger"],
        "best_valid_result": dict(best_valid_result or {}),
        "test_result": dict(test_result or {}),
        "params": params,
        "epochs": len(timer.seconds),
        "best_epoch": best_epoch,
        "valid_curve": [(epoch, score) for epoch, score, _ in timer.valid],
        "wall_s_to_best": timer.wall_to(best_epoch),
        "train_s_per_epoch": s_per_epoch,
        "train_s_to_best": timer.seconds_to(best_epoch),
        "peak_gpu_mem_gib": peak,
        "saved_model_file": trainer.saved_model_file if saved else None,
        **({"by_domain": by_domain} if by_domain else {}),
    }


def _run_rank(local_rank, settings, out, model, dataset, config_file_list, config_dict, cmd_args, saved, verbose,
              resume):
    """One rank of a run with nproc > 1 (recbole_mamba.distributed.launch)."""
    try:
        result = run(model, dataset, config_file_list, {**(config_dict or {}), **settings, "local_rank": local_rank},
                     cmd_args, saved=saved, verbose=verbose, resume=resume)
        distributed.leave_result(out, local_rank + settings["offset"], result)
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


__all__ = ["run", "build_model", "make_config", "load_dataset", "check_dataset", "prepare_data", "ConfigError",
           "property_file"]
