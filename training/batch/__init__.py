"""Batch personalisation: the lists known listeners are served from (DESIGN section 4).

``python -m training.batch --data DIR --out DIR`` computes, from a dataset of the data contract,
the families of docs/batch-format.md: ``personal`` songs and ``artists`` per listener,
``similar-items``, ``similar-artists``, ``regional`` charts and the ``catalog``, with the
business rules applied, and writes them with a ``manifest.json`` holding counts, checksums and
the evaluation against the popularity baselines.
"""
