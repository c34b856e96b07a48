"""Run the validator as ``python -m training.data.validate DIR``."""

from training.data.validate.cli import main

raise SystemExit(main())
