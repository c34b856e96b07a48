"""``python -m training.data.world``: see :mod:`training.data.world.cli`."""

import sys

from training.data.world.cli import main

sys.exit(main())
