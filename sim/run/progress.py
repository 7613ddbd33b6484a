"""Progress on stderr for long work: a bar on a terminal, otherwise a line at each tenth.

Used by ``escalation run`` (sim.studies.job) and the analysis verbs (card, discover, variance,
calibrate's re-runs), so a log or a CI job shows every long command moving.
"""

from __future__ import annotations

import sys
import time


class Progress:
    """Progress on stderr: a bar on a terminal, otherwise lines.

    Off a terminal: a line at each tenth (at least 2 s and at most a minute apart) and a final line,
    so a log or a CI job shows a long run moving.
    """

    def __init__(self, total: int, desc: str = "replications", stream=None, unit: str = "rep"):
        self.stream = stream or sys.stderr
        self.total, self.desc, self.done = total, desc, 0
        self.start = self.last = time.monotonic()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.bar = None
        if self.tty:
            from tqdm import tqdm

            tqdm.monitor_interval = 0  # no monitor thread: a run's workers fork only from a process without threads
            self.bar = tqdm(total=total, desc=desc, unit=unit, file=self.stream)
        self._next_tenth = 1

    def update(self, k: int = 1) -> None:  # noqa: D102
        self.done += k
        if self.bar is not None:
            self.bar.update(k)
            return
        now = time.monotonic()
        tenth = self.done * 10 // max(self.total, 1)
        if ((tenth >= self._next_tenth and now - self.last >= 2) or now - self.last >= 60) and self.done < self.total:
            self._next_tenth = tenth + 1
            self.last = now
            elapsed = now - self.start
            left = elapsed / self.done * (self.total - self.done)
            print(
                f"{self.desc}: {self.done}/{self.total} ({self.done / self.total:.0%}), "
                f"{_duration(elapsed)} elapsed, about {_duration(left)} left",
                file=self.stream,
                flush=True,
            )

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind, value, tb) -> None:
        if kind is None:
            self.close()
        elif self.bar is not None:
            self.bar.close()

    def close(self) -> None:  # noqa: D102
        if self.bar is not None:
            self.bar.close()
        print(
            f"{self.desc}: {self.done}/{self.total} done in {_duration(time.monotonic() - self.start)}",
            file=self.stream,
            flush=True,
        )


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, s = divmod(int(round(seconds)), 60)
    return f"{minutes} min {s:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
