"""recbole-mamba's entry point in a source checkout: the same as the installed `recbole-mamba` command
(recbole_mamba/cli.py; `python run_recbole_mamba.py --help`)."""
import sys

from recbole_mamba.cli import main

if __name__ == "__main__":
    sys.exit(main())
