"""Trainers: every trainer `recbole_mamba.utils.get_trainer` returns (ours or RecBole's) gets `SafeTrainerMixin`.

- Checkpoints hold plain data only (the config as a dict of plain values, tensors, numbers) and are written
  with torch's default pickle protocol, so they load with `torch.load(weights_only=True)`: a checkpoint from an
  untrusted source cannot execute code. (RecBole's own format pickles the Config object with protocol 4, which
  torch's weights-only unpickler cannot read at all.)
- `enable_amp: True` trains under autocast in `amp_dtype` (bfloat16 by default; RecBole alone would use float16).
- A NaN/Inf training loss stops training with TrainingDivergedError naming the epoch and batch; the best
  checkpoint written so far stays on disk.
Models with a trainer of their own define `<Model>Trainer` in this module.
"""
import enum
import functools

import torch

from recbole_mamba.errors import RecBoleMambaError


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
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # numpy / torch scalars
        return value.item()
    return str(value)


def amp_dtype(config):
    name = config["amp_dtype"] or "bfloat16"
    if name not in ("bfloat16", "float16"):
        raise RecBoleMambaError(f"amp_dtype must be bfloat16 or float16, got {name!r}")
    return getattr(torch, name)


def safe_load(path, map_location=None):
    """torch.load with weights_only=True, with a message that says what to do when a file is refused."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # UnpicklingError, or a refused global
        raise RecBoleMambaError(
            f"checkpoint {path} cannot be loaded safely (weights_only=True): {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}. recbole_mamba loads only checkpoints written by its "
            f"own trainers; a file from elsewhere could run code when unpickled.") from None


class SafeTrainerMixin:
    _epoch_idx = 0
    _batch_idx = -1

    def _save_checkpoint(self, epoch, verbose=True, **kwargs):
        if not self.config["single_spec"] and self.config["local_rank"] != 0:
            return
        saved_model_file = kwargs.pop("saved_model_file", self.saved_model_file)
        state = {
            "config": plain(self.config.final_config_dict),
            "run_config": plain(self.config.external_config_dict),  # what the user set: rebuilds the Config
            "epoch": int(epoch),
            "cur_step": int(self.cur_step),
            "best_valid_score": float(self.best_valid_score),
            "state_dict": self.model.state_dict(),
            "other_parameter": self.model.other_parameter(),
            "optimizer": self.optimizer.state_dict(),
        }
        torch.save(state, saved_model_file)
        if verbose:
            self.logger.info(f"Saving current: {saved_model_file}")

    def _train_epoch(self, train_data, epoch_idx, *args, **kwargs):
        self._epoch_idx, self._batch_idx = epoch_idx, -1
        if not self.config["enable_amp"]:
            return super()._train_epoch(train_data, epoch_idx, *args, **kwargs)
        # RecBole's trainer opens torch.autocast without a dtype, i.e. float16 on CUDA; amp_dtype picks it.
        device_type = self.device.type
        previous = torch.get_autocast_dtype(device_type)
        torch.set_autocast_dtype(device_type, amp_dtype(self.config))
        try:
            return super()._train_epoch(train_data, epoch_idx, *args, **kwargs)
        finally:
            torch.set_autocast_dtype(device_type, previous)

    def _check_nan(self, loss):
        self._batch_idx += 1
        if not torch.isfinite(loss).all():
            raise TrainingDivergedError(
                f"training loss became {loss.detach().float().sum().item()} at epoch {self._epoch_idx}, "
                f"batch {self._batch_idx}; the best checkpoint so far (if any) is kept at {self.saved_model_file}. "
                f"Try a lower learning_rate or clip_grad_norm.")


@functools.lru_cache(maxsize=None)
def make_safe(trainer_class):
    """trainer_class with SafeTrainerMixin in front (cached, so each class is wrapped once)."""
    if issubclass(trainer_class, SafeTrainerMixin):
        return trainer_class
    return type(trainer_class.__name__, (SafeTrainerMixin, trainer_class), {"__module__": __name__})
