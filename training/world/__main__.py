"""``python -m training.world``: see :mod:`training.world.cli`."""

import sys

from training.world.cli import main

sys.exit(main())
