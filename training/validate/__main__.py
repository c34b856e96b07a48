"""Run the validator as ``python -m training.validate DIR``."""

from training.validate.cli import main

raise SystemExit(main())
