"""Write the Colab setup cell (book/colab_setup_cell.py, the one copy) into every chapter.

Each ``notebooks/NN_*.py`` opens with that cell, tagged ``remove-cell`` so the built book
hides it; ``make sync`` runs this script before it regenerates the ``.ipynb`` files, and
``tests/test_colab.py`` checks that every chapter holds the template unchanged.

    python book/stamp_colab_cell.py            # stamp every chapter
    python book/stamp_colab_cell.py --check    # exit 1, naming them, if any differs
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "book" / "colab_setup_cell.py"
HEADER = '# %% tags=["remove-cell"]\n'
#: The setup cell: its header, a body that starts with the template's first line, up to the
#: next cell marker.
FIRST_LINE = "# Setup for Google Colab"


def stamped(text: str, template: str, name: str) -> str:
    """``text`` (a jupytext percent notebook) with its setup cell's body replaced."""
    pattern = re.compile(re.escape(HEADER + FIRST_LINE) + r".*?(?=^# %%)", re.S | re.M)
    if not pattern.search(text):
        raise ValueError(f"{name}: no setup cell ({HEADER.strip()} followed by "
                         f"{FIRST_LINE!r}) to stamp")
    return pattern.sub(lambda _: HEADER + template + "\n", text, count=1)


def main(argv: list[str]) -> int:
    template = TEMPLATE.read_text()
    if not template.startswith(FIRST_LINE):
        raise SystemExit(f"{TEMPLATE} must start with {FIRST_LINE!r}")
    differ = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        old = path.read_text()
        new = stamped(old, template, path.name)
        if new != old:
            differ.append(path.name)
            if "--check" not in argv:
                path.write_text(new)
    if differ and "--check" in argv:
        print("the Colab setup cell differs from book/colab_setup_cell.py in: "
              + ", ".join(differ) + " (run make sync)")
        return 1
    print(f"{'checked' if '--check' in argv else 'stamped'} the Colab setup cell"
          + (f" (changed: {', '.join(differ)})" if differ and "--check" not in argv else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
