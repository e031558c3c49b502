"""recbole_mamba: Mamba sequential recommenders as first-class RecBole models.

Importing the package is cheap: no RecBole, mamba-ssm or Ray is imported here. Use
`recbole_mamba.quick_start.run(...)` or `run_recbole_mamba.py`.
"""
__version__ = "0.1.0"
