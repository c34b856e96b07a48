"""Strong baselines for the "recommended for you" lists, on the split and metrics of
:mod:`training.batch.evaluate` (issue 20): a comparison, never the served path.

- :mod:`.base`: what a method is fitted on (:class:`~.base.TrainingData`) and answers;
- :mod:`.split`: the time split of the evaluation (and a validation slice carved from its
  training side), with the listeners it evaluates and the rows every method is fitted on;
- :mod:`.metrics`: recall@20 and NDCG@20 per listener, catalogue coverage, the share of local
  acts of the listener's region in the list, paired bootstrap intervals;
- one module per method: :mod:`.popularity`, :mod:`.puresvd` (ours, plain and blended, and the
  served song model blended as served), :mod:`.als` and :mod:`.bpr` (the ``implicit`` package),
  :mod:`.ease`, :mod:`.knn`;
- :mod:`.methods`: the methods by name with their grids of settings;
- :mod:`.compare`: fits and evaluates a method on a split; :mod:`.tuning`: settings chosen on
  the validation slice.

``python -m bench.batch_baselines`` runs the comparison and writes docs/model.md's section.
"""
