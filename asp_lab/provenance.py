"""What made a result: the git commit of the code that ran.

Training (:mod:`asp_lab.train`), chapter 6's attention grid (:mod:`asp_lab.analysis`) and the
benchmark (:mod:`asp_lab.bench`) write it beside what they produce.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: What ``make models`` itself writes while it runs: not a change to the code that ran.
CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"


def git_commit() -> str:
    """The repository's HEAD commit (with ``-dirty`` if tracked files changed), or ``unknown``.

    The shipped checkpoints (``asp_lab/checkpoints/``) do not count: they are what ``make
    models`` writes, so they change while it runs, and the code that made them did not.
    Chapters 5 to 7 record it."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                ".", f":(exclude){CHECKPOINT_DIR.relative_to(REPO)}"],
                               cwd=REPO, capture_output=True, text=True, timeout=10).stdout
        return head + ("-dirty" if dirty.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def git_state() -> dict:
    """``{"git_commit": ..., "git_uncommitted_changes": bool}`` (empty outside a checkout):
    :func:`git_commit` split for JSON records. Chapter 7 records it."""
    commit = git_commit()
    if commit == "unknown":
        return {}
    return {"git_commit": commit.removesuffix("-dirty"),
            "git_uncommitted_changes": commit.endswith("-dirty")}
