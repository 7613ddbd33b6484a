"""Early stopping in the joint fit against running every setting, on the same parameter sets.

``Simulator.deviance_within`` stops a parameter set at the first setting past the threshold.

    python experiments/early_stopping.py [--db calibration/fit_joint/abc.db] [--sets 30]

Takes ``--sets`` particles of the last stored generation of a fit's pyabc database, at the next
generation's threshold (the median of their deviances), and times each one both ways, interleaved, in
CPU seconds: every setting then the deviance, and the settings one at a time until the deviance is past
the threshold, in the shipped order (``deviance_within``) and, for comparison, by replications alone.
Checks that each accepts or rejects the same sets. The database is the fit's own (``--out``/abc.db):
not in the repository; run the fit first.
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np


def main() -> None:  # noqa: D103
    import pyabc

    from sim.calibration.targets import Simulator, base_setup, load_priors, load_targets, with_values

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="calibration/fit_joint/abc.db")
    parser.add_argument("--sets", type=int, default=30)
    args = parser.parse_args()
    logging.getLogger("ABC").setLevel(logging.WARNING)
    settings, targets = load_targets()
    priors = load_priors()
    base, measures = base_setup()
    sim = Simulator(settings, targets, base, measures)
    history = pyabc.History(f"sqlite:///{args.db}", _id=1)
    particles, _ = history.get_distribution(m=0, t=history.max_t)
    eps = float(np.median(history.get_weighted_distances(t=history.max_t)["distance"]))
    by_replications = sorted(sim.scenarios, key=lambda n: settings[n].replications)

    def in_order(params, seed, order):  # deviance_within with another order of the settings
        stats, total = {}, 0.0
        for name in order:
            frame = sim._frame(params, seed, name)
            for t in (t for t in targets if t.setting == name and t.data is not None):
                total += t.data.deviance(*t.statistic.tally(frame))
            if total > eps:
                return None, total
        return stats, total

    chosen = np.random.default_rng(0).choice(len(particles), min(args.sets, len(particles)), replace=False)
    cpu = {"every setting": 0.0, "shipped order": 0.0, "by replications": 0.0}
    stopped = 0
    for j, i in enumerate(chosen):
        params = with_values(base, {p.key: p.to_natural(particles.iloc[i][p.name]) for p in priors})
        runs = list(cpu)
        for name in runs[j % 3 :] + runs[: j % 3]:  # interleaved: each goes first in turn
            start = time.process_time()
            if name == "every setting":
                accepted = sim.deviance(sim.statistics(params, 100 + j, tallies=True)) <= eps
            elif name == "shipped order":
                stats, _ = sim.deviance_within(params, 100 + j, eps)
                early = stats is not None
            else:
                late = in_order(params, 100 + j, by_replications)[0] is not None
            cpu[name] += time.process_time() - start
        assert accepted == early == late, (i, accepted, early, late)
        stopped += not early
    full = cpu["every setting"]
    print(
        f"threshold {eps:.1f}; {len(chosen)} parameter sets, {stopped} stopped early; CPU: every setting {full:.1f} s, "
        f"shipped order {cpu['shipped order']:.1f} s ({cpu['shipped order'] / full:.2f}), by replications "
        f"{cpu['by replications']:.1f} s ({cpu['by replications'] / full:.2f})"
    )


if __name__ == "__main__":
    main()
