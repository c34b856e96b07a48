"""How many threads the batch run's dense work uses: every core of the machine (two at least, so
that writing one block's records overlaps with ranking the next on a single core too).

NumPy's matrix products and partitions and SciPy's sparse products release the GIL, so threads
of one process share the listening matrices instead of copying them per worker process.
"""

from __future__ import annotations

import os

THREADS = max(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2)
