"""``python -m asp_lab.train``, and ``torchrun -m asp_lab.train`` for DDP."""

import sys

from .cli import main

sys.exit(main())
