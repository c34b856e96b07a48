"""Check a dataset directory against the data contract (DESIGN section 4).

``validate(root)`` returns every :class:`Problem` found (an empty list: the dataset is valid);
``python -m training.data.validate DIR`` prints them and exits 1 if there are any.
"""

from training.data.validate.problems import Problem
from training.data.validate.run import Report, check_dataset, validate

__all__ = ["Problem", "Report", "check_dataset", "validate"]
