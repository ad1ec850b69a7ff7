"""``python -m asp_lab.bench``: the same as ``asp-lab bench`` (chapter 7)."""

import sys

from .cli import main

sys.exit(main())
