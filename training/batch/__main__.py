"""``python -m training.batch``: see :mod:`training.batch.cli`."""

import sys

from training.batch.cli import main

sys.exit(main())
