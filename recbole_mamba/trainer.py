"""Trainers of recbole_mamba models. Models without one here use RecBole's (see utils.get_trainer)."""
