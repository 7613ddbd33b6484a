"""What is read from a run's outcomes: pure functions on tables and event logs, no running, no files.

- ``stats``: intervals (Wilson, Newcombe, bootstrap means);
- ``survival``: time to a rung and back to vigilance (Kaplan-Meier, medians, hazards);
- ``series``: a run's recorded changes resampled to hours;
- ``effects``: a sweep's summary, paired differences of measures against their baselines, factorial effects;
- ``sensitivity``: Morris designs and indices (SALib);
- ``verdict``: the one-paragraph verdict of a run's summary;
- ``aar``: the after-action review of one replication's events.

May import ``sim.core`` only. The runner summarises with it, so it sits below ``sim.run``; the studies
that run the model and then analyse it are ``sim.studies``.
"""
