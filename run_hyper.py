"""Hyperparameter tuning (hyperopt or Ray Tune) for recbole_mamba's and RecBole's models: see
recbole_mamba/tuning.py."""
import sys

from recbole_mamba.tuning import main

if __name__ == "__main__":
    sys.exit(main())
