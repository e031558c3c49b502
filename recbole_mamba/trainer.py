"""Trainers: every trainer `recbole_mamba.utils.get_trainer` returns (ours or RecBole's) gets `SafeTrainerMixin`,
composed of one class per concern (Distributed, Checkpoints, EpochLoop, DivergenceGuard, EvaluationMasks, Setup):

- Checkpoints hold plain data only (the config as a dict of plain values, tensors, numbers) and are written
  with torch's default pickle protocol, so they load with `torch.load(weights_only=True)`: a checkpoint from an
  untrusted source cannot execute code. (RecBole's own format pickles the Config object with protocol 4, which
  torch's weights-only unpickler cannot read at all.)
- `enable_amp: True` trains under autocast in `amp_dtype` (bfloat16 by default; RecBole alone would use float16).
- The best model's file holds no optimizer state (a third of the bytes with Adam).
- Resume: after every validation the trainer also writes `<best file>-last.pth` (model, optimizer, early-stopping
  counters, best result so far, the path of the best checkpoint, and every random state training draws from:
  torch CPU/CUDA, numpy, python, the train loader's generator). `resume_checkpoint` restores all of it, so an
  interrupted run resumed from its last checkpoint ends exactly where the uninterrupted run would have.
- A NaN/Inf training loss stops training with TrainingDivergedError naming the epoch and batch; the best
  checkpoint written so far stays on disk.
- `train_loop: overlapped` (the default) trains an epoch as RecBole's loop does, step for step and bit for bit, but
  without its two host syncs per batch (`loss.item()` and the NaN check) and with the batch copied to the GPU from
  pinned memory without blocking: the host prepares the next batch and queues its kernels while the GPU still runs
  the last ones, instead of letting the GPU's queue run empty three times per batch. The loss is summed on the
  device in float64 (what RecBole's sum of Python floats does), and the NaN flag, kept on the device, is read every
  `NAN_CHECK_EVERY` batches on a GPU (every batch on a CPU) and at the end of the epoch. `train_loop: recbole` is
  RecBole's own loop, the reference twin (tests/test_trainer_loop.py compares them). A trainer class with an epoch
  loop of its own (not RecBole's `Trainer._train_epoch`) keeps it.
Models with a trainer of their own define `<Model>Trainer` in this module.
"""
import enum
import functools
import os
import random
import time

import numpy as np
import torch
from tqdm import tqdm

from recbole_mamba import distributed
from recbole_mamba.errors import ConfigError, RecBoleMambaError
from recbole_mamba.utils import atomic_write


class TrainingDivergedError(RecBoleMambaError, RuntimeError):
    pass


def plain(value):
    """Config values as plain Python data (enums by name, devices as strings), for weights-only checkpoints."""
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # numpy / torch scalars (np.float64 is a float)
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def amp_dtype(config):
    """torch dtype of `amp_dtype` (bfloat16 | float16, checked by quick_start.make_config before data loads)."""
    return getattr(torch, config["amp_dtype"] or "bfloat16")


def safe_load(path, map_location=None):
    """torch.load with weights_only=True, with a message that says what to do when a file is refused."""
    if not os.path.isfile(path):
        raise RecBoleMambaError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # UnpicklingError, or a refused global
        raise RecBoleMambaError(
            f"checkpoint {path} cannot be loaded safely (weights_only=True): {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}. recbole_mamba loads only checkpoints written by its "
            f"own trainers; a file from elsewhere could run code when unpickled.") from None


def load_resumable(resume_file):
    """The state of a resumable `<...>-last.pth` checkpoint (weights-only), or ConfigError saying why not."""
    resume_file = str(resume_file)
    if not os.path.isfile(resume_file):
        raise ConfigError(f"resume checkpoint {resume_file} does not exist")
    state = safe_load(resume_file, map_location="cpu")
    if "rng" not in state:
        raise ConfigError(f"{resume_file} is not a resumable checkpoint: resume from the '-last.pth' file a run "
                          f"writes next to its best model")
    return state


def save_whole(state, path):
    """torch.save through a temporary file, so that `path` always holds a whole checkpoint: the last good one or the
    new one, never a half-written file (a crash, or a copy taken while the run trains, as stop_runs.sh does)."""
    with atomic_write(path, "wb") as f:
        torch.save(state, f)


def last_checkpoint_file(saved_model_file):
    """Where the resumable checkpoint of a run whose best model goes to `saved_model_file` is written."""
    stem, ext = os.path.splitext(saved_model_file)
    return f"{stem}-last{ext or '.pth'}"


def rng_state(train_data=None):
    """Every random state training draws from, as plain tensors/numbers (weights-only loadable)."""
    _, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos), "has_gauss": int(has_gauss),
                  "cached_gaussian": float(cached)},
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }
    generator = getattr(train_data, "generator", None)
    state["loader"] = generator.get_state() if generator is not None else None
    return state


def restore_rng_state(state, train_data=None):
    torch.set_rng_state(state["torch"])
    npy = state["numpy"]
    np.random.set_state(("MT19937", npy["keys"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"],
                         npy["cached_gaussian"]))
    py = state["python"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss_next"]))
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    generator = getattr(train_data, "generator", None)
    if state.get("loader") is not None and generator is not None:
        generator.set_state(state["loader"])


NAN_CHECK_EVERY = 32  # batches between two reads of the non-finite-loss flag in the overlapped loop, on a GPU
TRAIN_LOOPS = ("overlapped", "recbole")


def to_device(interaction, device):
    """The batch on `device`; towards a GPU through pinned memory without blocking the host (the pinned buffer
    is kept until the copy has run: torch's host allocator records the copy's stream)."""
    from recbole.data.interaction import Interaction

    if device.type != "cuda":
        return interaction.to(device)
    return Interaction({k: v.pin_memory().to(device, non_blocking=True) for k, v in interaction.interaction.items()})


class Distributed:
    """One rank of a run of several processes (--nproc): RecBole's trainer built on single-process loaders, the model
    wrapped in DistributedDataParallel, metrics reduced exactly over every rank's users."""

    metric_decimals = None  # the user's metric_decimal_place, where ranks compute unrounded metrics
    _eval_rows = 0

    def __init__(self, config, model):
        if config["single_spec"]:
            super().__init__(config, model)
        else:
            from torch.nn.parallel import DistributedDataParallel

            with distributed.single_spec_loaders(config):  # RecBole's DistributedDataParallel call is GPU-only
                super().__init__(config, model)
            ids = [config["local_rank"]] if config["device"].type == "cuda" else None
            self.distributed_model = DistributedDataParallel(self.model, device_ids=ids)

    def evaluate(self, eval_data, *args, **kwargs):
        self._eval_rows = len(eval_data._dataset)  # this rank's users (one row each under leave-one-out)
        return super().evaluate(eval_data, *args, **kwargs)

    def _map_reduce(self, result, num_sample):
        """Exact: the mean over every user of every rank (RecBole's weighs ranks by their number of batches)."""
        decimals = self.metric_decimals if self.metric_decimals is not None else self.config["metric_decimal_place"]
        return distributed.reduce_exact(result, self._eval_rows, self.device, decimals)


class Checkpoints:
    """Weights-only checkpoints: the best model without optimizer state, and after every validation a resumable
    `-last.pth` with every random state; `resume_checkpoint` and `fit` continue a run exactly where it stopped."""

    _resumed = None  # the loaded last checkpoint, until fit() has restored its random states

    def _checkpoint_state(self, epoch, with_optimizer=True):
        state = {
            "config": plain(self.config.final_config_dict),
            "run_config": plain(self.config.external_config_dict),  # what the user set: rebuilds the Config
            "epoch": int(epoch),
            "cur_step": int(self.cur_step),
            "best_valid_score": float(self.best_valid_score),
            "state_dict": self.model.state_dict(),
            "other_parameter": self.model.other_parameter(),
        }
        if with_optimizer:
            state["optimizer"] = self.optimizer.state_dict()
        return state

    def _save_checkpoint(self, epoch, verbose=True, **kwargs):
        if not self.config["single_spec"] and self.config["local_rank"] != 0:
            return
        saved_model_file = kwargs.pop("saved_model_file", self.saved_model_file)
        # the best model is only evaluated or served: Adam's moments (twice the weights) live in -last.pth alone
        save_whole(self._checkpoint_state(epoch, with_optimizer=False), saved_model_file)
        if verbose:
            self.logger.info(f"Saving current: {saved_model_file}")

    def _save_last(self, epoch, train_data, stopped):
        if not self.config["single_spec"] and self.config["local_rank"] != 0:
            return
        state = self._checkpoint_state(epoch)
        state.update({
            "best_valid_result": plain(self.best_valid_result),
            "best_model_file": self.saved_model_file,
            "stopped": bool(stopped),
            "rng": rng_state(train_data),
            "history": self.recorder.state() if self.recorder is not None else None,
        })
        save_whole(state, last_checkpoint_file(self.saved_model_file))

    def fit(self, train_data, valid_data=None, verbose=True, saved=True, show_progress=False, callback_fn=None):
        resumed, self._resumed = self._resumed, None
        if resumed is not None:
            if resumed["stopped"] or self.start_epoch >= self.epochs:
                # (RecBole's fit would overwrite the best model file with the current weights here)
                self.logger.info("the resumed run had already finished: nothing left to train")
                return self.best_valid_score, self.best_valid_result
            restore_rng_state(resumed["rng"], train_data)

        def after_validation(epoch_idx, valid_score):
            if saved:
                stopped = self.cur_step > self.stopping_step  # RecBole's early-stopping condition
                self._save_last(epoch_idx, train_data, stopped)
            if callback_fn is not None:
                callback_fn(epoch_idx, valid_score)

        return super().fit(train_data, valid_data, verbose=verbose, saved=saved, show_progress=show_progress,
                           callback_fn=after_validation)

    def resume_checkpoint(self, resume_file, state=None):
        """Continue the run whose `<...>-last.pth` is `resume_file` (keeps writing its best model file);
        `state` is that file already loaded with `load_resumable`."""
        state = state if state is not None else load_resumable(resume_file)
        if state["config"]["model"].lower() != self.config["model"].lower():
            raise RecBoleMambaError(f"{resume_file} was written by {state['config']['model']}, "
                                    f"not {self.config['model']}")
        self.model.load_state_dict(state["state_dict"])
        self.model.load_other_parameter(state.get("other_parameter"))
        self.optimizer.load_state_dict(state["optimizer"])
        self.start_epoch = state["epoch"] + 1
        self.cur_step = state["cur_step"]
        self.best_valid_score = state["best_valid_score"]
        self.best_valid_result = state["best_valid_result"]
        self.saved_model_file = state["best_model_file"]
        if self.recorder is not None and state.get("history"):
            self.recorder.load_state(state["history"])
        self._resumed = state
        self.logger.info(f"resuming from {resume_file} at epoch {self.start_epoch}; "
                         f"best model: {self.saved_model_file}")


class EpochLoop:
    """One training epoch: timed by the TrainingRecorder, in the configured precision, on the overlapped loop (or
    RecBole's, or a trainer's own)."""

    _epoch_idx = 0
    _batch_idx = -1
    _loop_logged = False
    recorder = None  # TrainingRecorder (made in __init__), whose history a resumable checkpoint carries

    def _train_epoch(self, train_data, epoch_idx, *args, **kwargs):
        self._epoch_idx, self._batch_idx = epoch_idx, -1
        self.recorder.epoch_started()
        out = self._train_epoch_in_precision(train_data, epoch_idx, *args, **kwargs)
        self.recorder.epoch_ended(epoch_idx)
        return out

    def _valid_epoch(self, *args, **kwargs):
        score, result = super()._valid_epoch(*args, **kwargs)
        self.recorder.validated(score)
        return score, result

    def _train_epoch_in_precision(self, train_data, epoch_idx, *args, **kwargs):
        loop = self._epoch_loop()
        if not self.config["enable_amp"]:
            return loop(train_data, epoch_idx, *args, **kwargs)
        # RecBole's trainer opens torch.autocast without a dtype, i.e. float16 on CUDA; amp_dtype picks it.
        device_type = self.device.type
        previous = torch.get_autocast_dtype(device_type)
        torch.set_autocast_dtype(device_type, amp_dtype(self.config))
        try:
            return loop(train_data, epoch_idx, *args, **kwargs)
        finally:
            torch.set_autocast_dtype(device_type, previous)

    def _epoch_loop(self):
        """The overlapped loop where it stands for RecBole's own (`train_loop`, one process), else the next one."""
        from recbole.trainer import Trainer

        choice = self.config["train_loop"] or "overlapped"
        own = next(c for c in type(self).__mro__ if "_train_epoch" in vars(c) and c is not EpochLoop)
        use = choice == "overlapped" and own is Trainer and self.config["single_spec"]
        if not self._loop_logged:
            self.logger.info(f"train loop: {'overlapped' if use else own.__module__ + '.' + own.__name__}")
            self._loop_logged = True
        return self._train_epoch_overlapped if use else super()._train_epoch

    def _train_epoch_overlapped(self, train_data, epoch_idx, loss_func=None, show_progress=False):
        """RecBole's `Trainer._train_epoch` (single process) without a host sync per batch; same return value."""
        from recbole.utils import get_gpu_usage, set_color

        self.model.train()
        loss_func = loss_func or self.model.calculate_loss
        batches = tqdm(train_data, total=len(train_data), ncols=100, desc=set_color(f"Train {epoch_idx:>5}", "pink")) \
            if show_progress else train_data
        scaler = torch.amp.GradScaler(self.device.type, enabled=self.enable_scaler)
        total = parts = None
        check_every = NAN_CHECK_EVERY if self.device.type == "cuda" else 1  # reading the flag costs a CPU nothing
        self._first_bad = torch.full((), -1, dtype=torch.long, device=self.device)
        self._bad_loss = torch.zeros((), device=self.device)
        for batch_idx, interaction in enumerate(batches):
            interaction = to_device(interaction, self.device)
            self.optimizer.zero_grad()
            with torch.autocast(device_type=self.device.type, enabled=self.enable_amp):
                losses = loss_func(interaction)
            parts = isinstance(losses, tuple)
            loss = sum(losses) if parts else losses
            # float64 on the device: the same sum, in the same order, as RecBole's total of Python floats
            # (a one-element loss, e.g. Pop's [1], counts as its value, as loss.item() does in RecBole)
            step = torch.stack([x.detach().double().reshape(()) for x in (losses if parts else (losses,))])  # [P]
            total = step if total is None else total + step
            self._note_nonfinite(loss, batch_idx)
            if (batch_idx + 1) % check_every == 0:
                self._raise_if_diverged()
            scaler.scale(loss).backward()
            if self.clip_grad_norm:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), **self.clip_grad_norm)
            scaler.step(self.optimizer)
            scaler.update()
            if self.gpu_available and show_progress:
                batches.set_postfix_str(set_color("GPU RAM: " + get_gpu_usage(self.device), "yellow"))
        self._raise_if_diverged()
        if total is None:
            return None
        values = total.tolist()
        return tuple(values) if parts else values[0]


class DivergenceGuard:
    """A NaN/Inf training loss stops training with TrainingDivergedError naming the epoch and batch."""

    def _note_nonfinite(self, loss, batch_idx):
        """Remember, on the device, the first batch of the epoch whose loss is NaN/Inf, and that loss."""
        loss = loss.detach().float().sum()
        first = ~torch.isfinite(loss) & (self._first_bad < 0)
        self._first_bad = torch.where(first, batch_idx, self._first_bad)
        self._bad_loss = torch.where(first, loss, self._bad_loss)

    def _raise_if_diverged(self):
        bad = int(self._first_bad)
        if bad >= 0:
            self._diverged(float(self._bad_loss), bad)

    def _check_nan(self, loss):  # RecBole's loop calls it once per batch, before the backward
        self._batch_idx += 1
        if not torch.isfinite(loss).all():
            self._diverged(loss.detach().float().sum().item(), self._batch_idx)

    def _diverged(self, value, batch_idx):
        raise TrainingDivergedError(
            f"training loss became {value} at epoch {self._epoch_idx}, batch {batch_idx}; the best checkpoint so "
            f"far (if any) is kept at {self.saved_model_file}. Try a lower learning_rate or clip_grad_norm.")


class EvaluationMasks:
    """Full ranking with the user's history left out (`eval_filter_seen`) and, for a union of datasets, within the
    user's domain."""

    item_domain = None  # [I] domain of each item of a union of datasets (recbole_mamba.multidomain)

    def _full_sort_batch_eval(self, batched_data):
        """RecBole's full ranking; with `eval_filter_seen`, the items of the user's input history get no rank
        (as RecTools' filter_viewed): a target the user had already seen then counts as a miss."""
        interaction, scores, positive_u, positive_i = super()._full_sort_batch_eval(batched_data)
        item_seq = getattr(self.model, "ITEM_SEQ", None)
        if self.config["eval_filter_seen"] and item_seq in interaction:
            seen = interaction[item_seq].to(scores.device)  # [B L], 0 = padding
            scores = scores.scatter(1, seen, -torch.inf)  # padding is item 0, already -inf
        if self.item_domain is not None and item_seq in interaction:  # a union of datasets: rank within the domain
            item_domain = self.item_domain  # [I], on the model's device
            user_domain = item_domain[interaction[item_seq][:, 0].to(item_domain.device)]  # [B]: its first item's
            scores = scores.masked_fill(item_domain.unsqueeze(0) != user_domain.unsqueeze(1), -torch.inf)
        return interaction, scores, positive_u, positive_i


class Setup:
    """Optimizer and logging set-up: Adam's betas (`adam_betas`), RecBole's tensorboard folder made absolute."""

    def _absolute_tensorboard(self):
        """RecBole's SummaryWriter writes to a path relative to the working directory, from a background thread: a
        process that changes directory (Ray's trials, a test) loses its events. The same folder, made absolute."""
        writer = getattr(self, "tensorboard", None)
        log_dir = getattr(writer, "log_dir", None)
        if log_dir is None or os.path.isabs(log_dir):
            return
        from torch.utils.tensorboard import SummaryWriter

        writer.close()
        self.tensorboard = SummaryWriter(os.path.abspath(log_dir))

    def _build_optimizer(self, **kwargs):
        """RecBole's optimizer; Adam takes `adam_betas` when set."""
        betas = self.config["adam_betas"]
        learner = kwargs.get("learner", self.config["learner"])
        if betas is None or str(learner).lower() != "adam":
            return super()._build_optimizer(**kwargs)
        return torch.optim.Adam(kwargs.get("params", self.model.parameters()),
                                lr=kwargs.get("learning_rate", self.config["learning_rate"]), betas=tuple(betas),
                                weight_decay=kwargs.get("weight_decay", self.config["weight_decay"]) or 0)


class SafeTrainerMixin(Distributed, Checkpoints, EpochLoop, DivergenceGuard, EvaluationMasks, Setup):
    """What every trainer of a run gets (`make_safe`), one concern a piece: Distributed, Checkpoints, EpochLoop
    (recorder, precision, loop), DivergenceGuard, EvaluationMasks, Setup."""

    def __init__(self, config, model):
        super().__init__(config, model)  # RecBole's trainer (Distributed: one rank's)
        self._absolute_tensorboard()
        self.recorder = TrainingRecorder()


class TrainingRecorder:
    """Seconds of every training epoch and the epoch, score and wall time of every validation; the trainer reports
    to it (`SafeTrainerMixin._train_epoch` / `_valid_epoch`). Its state travels in resumable checkpoints, so a
    resumed run reports every epoch of the whole run."""

    def __init__(self):
        self.seconds, self.valid = [], []  # valid: (epoch index, score, wall seconds since training began)
        self._epoch = -1
        self._began = None  # perf_counter at the first batch of this process's first epoch
        self._wall_before = 0.0  # wall seconds of the run before a resume
        self._start = None

    @staticmethod
    def _now():
        if torch.cuda.is_available():
            torch.cuda.synchronize()  # the GPU's queue counts towards the epoch it belongs to
        return time.perf_counter()

    def epoch_started(self):
        self._start = self._now()
        if self._began is None:
            self._began = self._start

    def epoch_ended(self, epoch_idx):
        self.seconds.append(self._now() - self._start)
        self._epoch = epoch_idx

    def validated(self, score):
        wall = self._wall_before + time.perf_counter() - (self._began or time.perf_counter())
        self.valid.append((self._epoch, float(score), wall))

    def state(self):
        return {"seconds": list(self.seconds), "valid": [list(v) for v in self.valid]}

    def load_state(self, state):
        self.seconds = list(state["seconds"])
        self.valid = [tuple(v) if len(v) == 3 else (*v, None) for v in state["valid"]]
        self._epoch = self.valid[-1][0] if self.valid else -1
        self._wall_before = (self.valid[-1][2] or 0.0) if self.valid else 0.0

    def seconds_to(self, epoch):
        """Training seconds of epochs 0..epoch (the time to reach that epoch's model), None if unknown."""
        if epoch is None or len(self.seconds) <= epoch:
            return None
        return sum(self.seconds[: epoch + 1])

    def wall_to(self, epoch):
        """Wall seconds from the first training batch to the end of `epoch`'s validation (training, evaluation and
        everything between), None if unknown."""
        return next((wall for e, _, wall in self.valid if e == epoch), None)

    def best_epoch(self, bigger=True):
        if not self.valid:
            return None
        pick = max if bigger else min  # the first epoch reaching the best score
        return pick(self.valid, key=lambda v: v[1])[0]


@functools.lru_cache(maxsize=None)
def make_safe(trainer_class):
    """trainer_class with SafeTrainerMixin in front (cached, so each class is wrapped once)."""
    if issubclass(trainer_class, SafeTrainerMixin):
        return trainer_class
    return type(trainer_class.__name__, (SafeTrainerMixin, trainer_class), {"__module__": __name__})
