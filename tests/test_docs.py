"""The docs and the raw logs agree: every log path the docs cite exists, and every log kept is cited by a doc."""
import glob
import os
import re

from conftest import REPO_DIR

RESULTS = os.path.join(REPO_DIR, "benchmarks", "results")


def cited_paths():
    """benchmarks/results/... paths in README.md and docs/*.md, `{a,b}` expanded."""
    paths = set()
    for doc in [os.path.join(REPO_DIR, "README.md")] + glob.glob(os.path.join(REPO_DIR, "docs", "*.md")):
        with open(doc, encoding="utf-8") as f:
            for path in re.findall(r"benchmarks/results/[\w./{},-]+", f.read()):
                path = path.rstrip(".,/")
                braces = re.search(r"\{([^}]*)\}", path)
                options = braces.group(1).split(",") if braces else [""]
                for option in options:
                    paths.add(path.replace(braces.group(0), option) if braces else path)
    return paths


def test_every_cited_log_exists():
    missing = sorted(p for p in cited_paths() if not os.path.exists(os.path.join(REPO_DIR, p)))
    assert missing == []


def test_every_kept_log_is_cited():
    text = ""
    for doc in [os.path.join(REPO_DIR, "README.md")] + glob.glob(os.path.join(REPO_DIR, "docs", "*.md")):
        with open(doc, encoding="utf-8") as f:
            text += f.read()
    kept = [name for name in os.listdir(RESULTS) if name != "README.md"]
    assert sorted(name for name in kept if name not in text) == []  # history lives in git, not in the tree


def test_the_log_index_names_every_kept_log():
    with open(os.path.join(RESULTS, "README.md"), encoding="utf-8") as f:
        index = f.read()
    assert sorted(name for name in os.listdir(RESULTS) if name != "README.md" and name not in index) == []
