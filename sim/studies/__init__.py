"""What is done with the model: a run's job, and the studies that run it many times and analyse the outcomes.

- ``job``: one ``escalation run`` job (or one job of a sweep), from a composed config to a folder of outputs;
- ``compare``: ``escalation compare``, a sweep's folders side by side with paired differences;
- ``card``: ``escalation card``, a measure's card across settings;
- ``discovery``: ``escalation discover``, where in parameter space a measure backfires (PRIM, CART);
- ``variance``: ``escalation variance``, how much of the spread the posterior explains;
- ``study``: ``escalation study``, the card, discovery and variance in one folder.

May import ``sim.calibration`` (priors, settings, posterior draws), ``sim.report``, ``sim.run``,
``sim.analysis`` and ``sim.core``; not ``sim.play`` (the two are independent).
"""
