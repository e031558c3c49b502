"""Hyperparameter tuning in a source checkout: the same as the installed `recbole-mamba-tune` command
(recbole_mamba/tuning.py)."""
import sys

from recbole_mamba.tuning import main

if __name__ == "__main__":
    sys.exit(main())
