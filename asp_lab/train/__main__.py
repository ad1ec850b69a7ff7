"""``python -m asp_lab.train``, and ``torchrun -m asp_lab.train`` for DDP."""

import sys

from .cli import main

if __name__ == "__main__":  # not when --jobs's spawned processes import this module
    sys.exit(main())
