"""The tables and plots the runners write: the leaderboard (and `--model_list`, its one-seed form) and the tuner.

A table is a title, a header and rows of plain values, written twice: `<stem>.md` (numbers rounded for a reader)
and `<stem>.csv` (the values as they are). A plot is a scatter of labelled (x, y) points, written when matplotlib is
installed.
"""
import csv
import os

from recbole_mamba.utils import atomic_write


def cell(value):
    """One markdown cell: '–' for nothing, floats with 4 decimals (1 from 100 up), else str()."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)


def markdown(header, rows, title=None):
    """The table as markdown text (cells already strings or plain values)."""
    lines = [f"# {title}", ""] if title else []
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(v if isinstance(v, str) else cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_table(stem, header, rows, title=None, md_rows=None, notes=()):
    """Write `<stem>.csv` (header and rows as they are) and `<stem>.md` (the title, the table with `md_rows` if given,
    else `rows` formatted by `cell`, then one paragraph line per note). Each file is whole or not written.
    Returns (the markdown text, [the two paths])."""
    os.makedirs(os.path.dirname(os.path.abspath(stem)), exist_ok=True)
    with atomic_write(stem + ".csv", newline="") as f:
        csv.writer(f).writerows([header] + [list(r) for r in rows])
    text = markdown(header, rows if md_rows is None else md_rows, title)
    if notes:
        text += "\n" + "\n".join(notes) + "\n"
    with atomic_write(stem + ".md") as f:
        f.write(text)
    return text, [stem + ".md", stem + ".csv"]


def plot(path, series, xlabel, ylabel, title, xlog=False):
    """A scatter of {label: [(x, y), ...]}, one colour per label, written to `path`; False (nothing written) when
    matplotlib is not installed or there is no point."""
    points = {label: [(x, y) for x, y in xy if x is not None and y is not None] for label, xy in series.items()}
    points = {label: xy for label, xy in points.items() if xy}
    if not points:
        return False
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, xy in points.items():
        ax.scatter([x for x, _ in xy], [y for _, y in xy], label=label)
    if xlog:
        ax.set_xscale("log")
    ax.margins(x=0.2, y=0.15)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
