"""Running the model: scenario files, configuration, replications and their outputs.

- ``scenario_io``: the scenario library and its YAML files (read as untrusted data, checked field by field);
- ``config``: Hydra's composition of a run (measures, parameters, eras) into the model's parameters;
- ``provenance``: where each parameter's value comes from (the catalogue of sources);
- ``runner``: replications in processes, each on its own seed, summarised into an ``Ensemble``;
- ``output``: the files a run writes (``outcomes.csv``, ``events.jsonl``, ``summary.json``, ...);
- ``folder``, ``progress``: an output folder's lock and temporary names; progress on the terminal;
- ``errors``, ``paths``: one-line user errors (exit code 2) and where the data folders are.

May import ``sim.core`` and ``sim.analysis`` (the statistics a run's summary holds); nothing above.
"""
