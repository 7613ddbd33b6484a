"""Calibration against the record: targets, priors, the fit and its check.

- ``targets``: ``calibration/targets.yaml``, ``priors.yaml`` and ``posterior.csv`` (read and checked), the
  settings' runs and their statistics, and per-replication draws from the posterior;
- ``fit``: ``escalation calibrate`` (pyabc's ABC-SMC); ``abc_kernel``: its neighbour transition;
- ``validate``: ``escalation validate``, the default model against the record.

May import ``sim.report``, ``sim.run``, ``sim.analysis`` and ``sim.core``.
"""
