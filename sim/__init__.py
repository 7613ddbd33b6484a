"""NATO–Russia incident escalation simulator.

The packages are layers; each imports only from those below it (``pyproject.toml``'s import-linter
contracts, checked by ``tests/test_layout.py``):

- ``sim.cli``, ``sim.api``, ``sim.app``: the front ends (command line, Python API, web app);
- ``sim.studies`` (a run's job, the studies) and ``sim.play`` (games, saves, workshops), independent of each other;
- ``sim.calibration``: targets, priors and posterior; the fit and its check;
- ``sim.report``: figures and reports;
- ``sim.run``: scenario files, configuration, replications, outputs;
- ``sim.analysis``: what is read from outcomes (intervals, survival, effects), pure functions;
- ``sim.core``: the agent-based model; it knows nothing of files, the command line or plots.
"""

__version__ = "0.1.0"
