"""``python -m bench.ab``: see :mod:`bench.ab.cli`."""

import sys

from bench.ab.cli import main

sys.exit(main())
