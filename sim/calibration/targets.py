"""Calibration against the record: targets, priors, the simulated statistics, and posterior draws.

- ``calibration/targets.yaml``: what the record says (value, tolerance band, setting, source);
- ``calibration/priors.yaml``: the parameters fitted, with their priors;
- ``calibration/posterior.csv``: the fitted particles and their weights (``escalation calibrate``).

This module reads those files (as untrusted data: schema and ranges checked, nothing executed),
runs a parameter set on the targets' settings and computes the targets' statistics. The fit itself
(pyabc's ABC-SMC) is ``sim.calibration.fit``; the check of the default model against the record is
``sim.calibration.validate``. Runs can draw each replication's parameters from the posterior
(``PosteriorDraws``), so intervals carry what the record leaves uncertain.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim.core.spec import ModelParams
from sim.run.errors import UserError, read_bounded
from sim.run.paths import DATA_ROOT

CALIBRATION_DIR = DATA_ROOT / "calibration"
TARGETS_FILE = CALIBRATION_DIR / "targets.yaml"
HOLDOUT_FILE = CALIBRATION_DIR / "holdout.yaml"  # facts the fit never reads: ``escalation validate`` reports them apart
PRIORS_FILE = CALIBRATION_DIR / "priors.yaml"
POSTERIOR_FILE = CALIBRATION_DIR / "posterior.csv"
_LIMIT = 1_000_000  # bytes: a targets or priors file; a posterior table is at most 20 MB

STAT_KINDS = ("mean", "share", "probability")


@dataclass(frozen=True)
class Setting:
    """A configuration a target is measured in: a library scenario in an era, for a horizon."""

    name: str
    scenario: str
    era: str
    horizon_days: float
    injects: bool
    replications: int  # per parameter set in the fit


@dataclass(frozen=True)
class Statistic:
    """``mean: A+B`` (mean per replication), ``share: A / B`` (pooled ratio), ``probability: A``."""

    kind: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str, where: str) -> Statistic:
        """Read ``kind: columns``; a bad form is a ``UserError`` naming ``where``."""
        kind, sep, rest = str(text).partition(":")
        kind, rest = kind.strip(), rest.strip()
        if not sep or kind not in STAT_KINDS or not rest:
            raise UserError(f"{where}: {text!r} is not a statistic (mean: COLUMN, share: A / B, probability: COLUMN)")
        if kind == "share":
            num, slash, den = rest.partition("/")
            if not slash:
                raise UserError(f"{where}: a share is 'share: NUMERATOR / DENOMINATOR', got {text!r}")
            return cls(kind, _columns(num, where), _columns(den, where))
        return cls(kind, _columns(rest, where))

    @property
    def columns(self) -> tuple[str, ...]:
        """The outcome columns the statistic reads."""
        return self.numerator + self.denominator

    def per_replication(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """The numerator (and denominator) of each replication."""
        num = df[list(self.numerator)].to_numpy(float).sum(axis=1)
        den = df[list(self.denominator)].to_numpy(float).sum(axis=1) if self.denominator else None
        return num, den

    def value(self, df: pd.DataFrame) -> float:
        """The statistic over the replications of ``df`` (NaN for a share of nothing)."""
        x, n = self.tally(df)
        return x / n if n > 0 else math.nan

    def tally(self, df: pd.DataFrame) -> tuple[float, float]:
        """What the statistic is a ratio of.

        (replications with the outcome, replications) for a probability, (total, replications) for a
        mean, (numerator, denominator) summed over the replications for a share.
        """
        num, den = self.per_replication(df)
        if den is not None:
            return float(num.sum()), float(den.sum())
        if self.kind == "probability":
            return float((num > 0).sum()), float(len(num))
        return float(num.sum()), float(len(num))

    def interval(self, df: pd.DataFrame, seed: int = 0) -> tuple[float, float, float]:
        """Estimate and 95% interval: Wilson (probability), Student t (mean), bootstrap over replications (share)."""
        from sim.analysis.stats import mean_ci, wilson

        num, den = self.per_replication(df)
        if self.kind == "probability":
            return wilson(int((num > 0).sum()), len(num))
        if self.kind == "mean":
            m, lo, hi, _ = mean_ci(num)
            return m, lo, hi
        est = self.value(df)
        rng = np.random.default_rng(seed)
        picks = rng.integers(0, len(num), size=(2000, len(num)))
        with np.errstate(invalid="ignore", divide="ignore"):
            ratios = num[picks].sum(axis=1) / den[picks].sum(axis=1)  # type: ignore[index]
        ratios = ratios[np.isfinite(ratios)]
        if not len(ratios):
            return est, math.nan, math.nan
        return est, float(np.quantile(ratios, 0.025)), float(np.quantile(ratios, 0.975))


def _columns(text: str, where: str) -> tuple[str, ...]:
    cols = tuple(c.strip() for c in text.split("+"))
    if not all(c.replace("_", "").isalnum() for c in cols):
        raise UserError(f"{where}: {text.strip()!r} is not a column name or a sum of them (A+B)")
    return cols


@dataclass(frozen=True)
class RecordData:
    """The record behind a target as data, for the fit's deviance: how likely the record is under the model.

    ``binomial``: ``events`` of ``of`` (years with a use of force, incidents of a category), against
    the model's probability or share. ``count``: ``count`` events in ``years`` years, against the
    model's mean a year, as a negative binomial of ``dispersion`` (its size a year: the record's own
    spread from year to year and from what it counts to what the model counts; infinite: Poisson).
    """

    kind: str  # binomial | count | implied (the record is implied by another target's: no deviance of its own)
    events: float  # binomial: successes; count: the count
    of: float  # binomial: trials; count: years
    dispersion: float = math.inf
    implied_by: str = ""  # implied: the target whose record implies this one's

    def deviance(self, x: float, n: float) -> float:
        """-2 log(likelihood of the record under the model / under the record's own best fit) (0: as good as can be).

        The model's side: ``x`` of ``n`` (a binomial's successes and trials), or a count's total over
        ``n`` simulated years. A binomial record is predicted from ``x`` of ``n`` as a beta-binomial (the
        model's probability has Jeffreys' Beta(x + 1/2, n - x + 1/2) after ``n`` simulated trials), so
        "none in n simulated years" is not a certainty, and the best the simulation could have shown
        scores 0; a share of nothing (``n`` = 0: no incident of the kind simulated) tells nothing, and
        scores 0 too (the record's other targets, its counts, weigh such a model). A count is a negative
        binomial whose mean is the model's (at least half an event, so no count is impossible), against the
        same with the record's own count as its mean.
        """
        from scipy import stats

        if self.kind == "implied":  # its evidence is the other target's: counted once, there
            return 0.0
        if self.kind == "binomial":  # the record's k of m, predicted from the model's x of n (beta-binomial)
            k, m, n = self.events, self.of, round(n)
            xs = np.arange(n + 1)
            ll = stats.betabinom.logpmf(k, m, xs + 0.5, n - xs + 0.5)  # every simulated outcome x could have been
            return max(0.0, float(-2.0 * (ll[min(max(round(x), 0), n)] - ll.max())))
        mu = self.of * max(x, 0.5) / n  # the model's expected count over the record's years
        return float(
            -2.0
            * (
                _count_logpmf(self.events, mu, self.of * self.dispersion)
                - _count_logpmf(self.events, self.events, self.of * self.dispersion)
            )
        )


def _count_logpmf(k: float, mean: float, size: float) -> float:
    """Log-probability of k under a negative binomial of ``mean`` and ``size`` (a Poisson if ``size`` is infinite)."""
    from scipy import stats

    if mean <= 0:
        return 0.0 if k == 0 else -math.inf
    if math.isinf(size):
        return float(stats.poisson.logpmf(k, mean))
    return float(stats.nbinom.logpmf(k, size, size / (size + mean)))


@dataclass(frozen=True)
class Target:
    """One fact of the record the model must reproduce, within the band ``[low, high]``."""

    name: str
    title: str
    setting: str
    statistic: Statistic
    value: float
    low: float
    high: float
    source: str
    tolerance: str
    data: RecordData | None = None  # the record as data, for the deviance (``escalation calibrate``)

    def within(self, x: float) -> bool:
        """Whether ``x`` lies in the tolerance band."""
        return self.low <= x <= self.high

    def deviation(self, x: float) -> float:
        """How far ``x`` lies outside the band, in band widths (0 inside; 10 for an undefined value)."""
        if not math.isfinite(x):
            return 10.0
        width = max(self.high - self.low, 1e-9)
        if x < self.low:
            return (self.low - x) / width
        if x > self.high:
            return (x - self.high) / width
        return 0.0

    def margin(self, estimate: float, low: float, high: float) -> float:
        """How far inside its band an estimate lies, in half-widths of its 95% interval ``[low, high]``.

        Negative outside the band; infinite when the interval is unknown or has no width. A band that
        starts at 0 counts only its upper edge (the statistics cannot go below 0).
        """
        half = (high - low) / 2
        if not math.isfinite(estimate):
            return -math.inf
        if not math.isfinite(half) or half <= 0:
            return math.inf
        room = [self.high - estimate] + ([estimate - self.low] if self.low > 0 else [])
        return min(room) / half

    def offset(self, x: float) -> float:
        """How far ``x`` lies from the record's value, in band widths (10 for an undefined value)."""
        if not math.isfinite(x):
            return 10.0
        return abs(x - self.value) / max(self.high - self.low, 1e-9)


@dataclass(frozen=True)
class Prior:
    """A fitted parameter: its config key and its prior (uniform or log-uniform on [low, high])."""

    key: str
    kind: str  # uniform | loguniform
    low: float
    high: float
    why: str

    @property
    def name(self) -> str:
        """The parameter's name in pyabc (no dots)."""
        return self.key.replace(".", "__")

    def to_natural(self, x: float) -> float:
        """From the sampling scale (log10 for a log-uniform prior) to the parameter's value."""
        return float(10**x) if self.kind == "loguniform" else float(x)

    def to_sampling(self, v: float) -> float:
        """From the parameter's value to the sampling scale."""
        return math.log10(v) if self.kind == "loguniform" else float(v)

    @property
    def sampling_bounds(self) -> tuple[float, float]:
        """The prior's bounds on the sampling scale."""
        return self.to_sampling(self.low), self.to_sampling(self.high)

    def density(self, v: np.ndarray) -> np.ndarray:
        """The prior density at values ``v`` (natural scale)."""
        v = np.asarray(v, float)
        inside = (v >= self.low) & (v <= self.high)
        if self.kind == "loguniform":
            dens = 1.0 / (np.maximum(v, 1e-300) * math.log(self.high / self.low))
        else:
            dens = np.full_like(v, 1.0 / (self.high - self.low))
        return np.where(inside, dens, 0.0)


def _load_yaml(path: Path, what: str) -> dict[str, Any]:
    raw = read_bounded(path, _LIMIT, what)
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise UserError(f"{path}: not valid YAML{line}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: a {what} is a mapping")
    return data


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
        raise UserError(f"{where}: {value!r} is not a number")
    return float(value)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"{where}: a text is required")
    return value


def load_targets(path: Path = TARGETS_FILE, held_out: bool = False) -> tuple[dict[str, Setting], list[Target]]:
    """The settings and targets of a targets file, checked (scenarios and eras must exist).

    A held-out file says ``held_out: true``: the fit refuses it, and ``escalation validate --holdout``
    accepts only such a file (``held_out=True``).
    """
    from sim.run.paths import CONF_DIR
    from sim.run.scenario_io import library

    data = _load_yaml(path, "targets file")
    marked = data.get("held_out", False)
    if not isinstance(marked, bool):
        raise UserError(f"{path}: held_out: true or false")
    if marked and not held_out:
        raise UserError(
            f"{path}: a held-out file (held_out: true): the fit never reads it; escalation validate reports it"
        )
    if held_out and not marked:
        raise UserError(f"{path}: not a held-out file (it does not say held_out: true): the fit may have read it")
    settings: dict[str, Setting] = {}
    raw_settings = data.get("settings")
    if not isinstance(raw_settings, dict) or not raw_settings:
        raise UserError(f"{path}: settings: a mapping of named settings is required")
    eras = sorted(p.stem for p in (CONF_DIR / "era").glob("*.yaml"))
    for name, s in raw_settings.items():
        where = f"{path}: settings.{name}"
        if not isinstance(s, dict):
            raise UserError(f"{where}: a mapping is required")
        unknown = set(s) - {"scenario", "era", "horizon_days", "injects", "replications"}
        if unknown:
            raise UserError(f"{where}: unknown field {sorted(unknown)[0]!r}")
        scenario = _text(s.get("scenario"), f"{where}.scenario")
        if scenario not in library():
            raise UserError(f"{where}.scenario: unknown scenario {scenario!r} (library: {', '.join(library())})")
        era = _text(s.get("era"), f"{where}.era")
        if era not in eras:
            raise UserError(f"{where}.era: unknown era {era!r} (eras: {', '.join(eras)})")
        horizon = _number(s.get("horizon_days"), f"{where}.horizon_days")
        if not 0 < horizon <= 3660:
            raise UserError(f"{where}.horizon_days: {horizon:g} is outside (0, 3660]")
        reps = s.get("replications", 10)
        if isinstance(reps, bool) or not isinstance(reps, int) or not 1 <= reps <= 10_000:
            raise UserError(f"{where}.replications: {reps!r} is not a whole number in [1, 10000]")
        injects = s.get("injects", False)
        if not isinstance(injects, bool):
            raise UserError(f"{where}.injects: true or false")
        settings[str(name)] = Setting(str(name), scenario, era, horizon, injects, reps)
    targets = []
    raw_targets = data.get("targets")
    if not isinstance(raw_targets, list) or not raw_targets:
        raise UserError(f"{path}: targets: a list of targets is required")
    names = set()
    for i, t in enumerate(raw_targets):
        where = f"{path}: targets[{i}]"
        if not isinstance(t, dict):
            raise UserError(f"{where}: a mapping is required")
        fields = {"name", "title", "setting", "statistic", "value", "low", "high", "source", "tolerance"}
        unknown, missing = set(t) - fields - {"data"}, fields - set(t)
        if unknown or missing:
            problem = f"unknown field {sorted(unknown)[0]!r}" if unknown else f"missing field {sorted(missing)[0]!r}"
            raise UserError(f"{where}: {problem}")
        name = _text(t["name"], f"{where}.name")
        where = f"{path}: target {name}"
        if name in names:
            raise UserError(f"{where}: the name is used twice")
        names.add(name)
        if t["setting"] not in settings:
            raise UserError(f"{where}.setting: unknown setting {t['setting']!r} (settings: {', '.join(settings)})")
        stat = Statistic.parse(t["statistic"], f"{where}.statistic")
        value, low, high = (_number(t[k], f"{where}.{k}") for k in ("value", "low", "high"))
        if not low <= value <= high:
            raise UserError(f"{where}: value {value:g} is outside its band [{low:g}, {high:g}]")
        if stat.kind in ("probability", "share") and not 0 <= low <= high <= 1:
            raise UserError(f"{where}: a {stat.kind}'s band must lie in [0, 1]")
        targets.append(
            Target(
                name,
                _text(t["title"], f"{where}.title"),
                t["setting"],
                stat,
                value,
                low,
                high,
                _text(t["source"], f"{where}.source"),
                _text(t["tolerance"], f"{where}.tolerance"),
                _record_data(t["data"], stat, f"{where}.data") if "data" in t else None,
            )
        )
    by_name = {t.name: t for t in targets}
    for t in targets:
        if t.data is not None and t.data.kind == "implied":
            other = by_name.get(t.data.implied_by)
            if other is None or other is t or other.setting != t.setting or other.data is None:
                raise UserError(
                    f"{path}: target {t.name}.data.implied_by: {t.data.implied_by!r} is not another target of "
                    f"setting {t.setting} with its record as data"
                )
    return settings, targets


def _record_data(raw: Any, stat: Statistic, where: str) -> RecordData:
    """A target's ``data:``: ``{events: K, of: N}``, ``{count: C, years: Y, dispersion: R}`` or ``{implied_by: T}``.

    A probability or a share is a binomial record; a mean, a count over years; ``implied_by`` names another
    target of the same setting whose record implies this one's (checked by the caller).
    """
    if not isinstance(raw, dict):
        raise UserError(f"{where}: a mapping is required ({{events: K, of: N}} or {{count: C, years: Y}})")
    if "implied_by" in raw:
        if set(raw) != {"implied_by"}:
            raise UserError(f"{where}: implied_by stands alone (the record is the other target's)")
        return RecordData("implied", 0.0, 0.0, implied_by=_text(raw["implied_by"], f"{where}.implied_by"))
    if stat.kind in ("probability", "share"):
        unknown, missing = set(raw) - {"events", "of"}, {"events", "of"} - set(raw)
        if unknown or missing:
            bad = f"unknown field {sorted(unknown)[0]!r}" if unknown else f"missing field {sorted(missing)[0]!r}"
            raise UserError(f"{where}: {bad} (a {stat.kind}'s record is {{events: K, of: N}})")
        k, n = _whole(raw["events"], f"{where}.events"), _whole(raw["of"], f"{where}.of")
        if not 1 <= n <= 1_000_000 or k > n:
            raise UserError(f"{where}: {k:g} events of {n:g} is not a count of at most its trials (1 to 1,000,000)")
        return RecordData("binomial", k, n)
    unknown, missing = set(raw) - {"count", "years", "dispersion"}, {"count", "years"} - set(raw)
    if unknown or missing:
        bad = f"unknown field {sorted(unknown)[0]!r}" if unknown else f"missing field {sorted(missing)[0]!r}"
        raise UserError(f"{where}: {bad} (a mean's record is {{count: C, years: Y, dispersion: R}})")
    count = _whole(raw["count"], f"{where}.count")
    years = _number(raw["years"], f"{where}.years")
    if not 0 < years <= 1000 or count > 10_000_000:
        raise UserError(f"{where}: {count:g} in {years:g} years: years must lie in (0, 1000], the count below 10^7")
    dispersion = _number(raw["dispersion"], f"{where}.dispersion") if "dispersion" in raw else math.inf
    if not dispersion > 0:
        raise UserError(f"{where}.dispersion: {dispersion:g} is not above 0 (leave it out for a Poisson count)")
    return RecordData("count", count, years, dispersion)


def _whole(value: Any, where: str) -> float:
    x = _number(value, where)
    if x < 0 or x != int(x):
        raise UserError(f"{where}: {value!r} is not a whole number of at least 0")
    return x


def load_priors(path: Path = PRIORS_FILE) -> list[Prior]:
    """The fitted parameters and their priors, checked against the model's parameters and ranges."""
    from sim.run.config import documented_range

    data = _load_yaml(path, "priors file")
    raw = data.get("parameters")
    if not isinstance(raw, dict) or not raw:
        raise UserError(f"{path}: parameters: a mapping of config keys to priors is required")
    priors = []
    for key, spec in raw.items():
        where = f"{path}: parameters.{key}"
        if not isinstance(spec, dict) or not isinstance(spec.get("prior"), dict) or len(spec["prior"]) != 1:
            raise UserError(f"{where}: prior: {{uniform: [LOW, HIGH]}} or {{loguniform: [LOW, HIGH]}} is required")
        ((kind, bounds),) = spec["prior"].items()
        if kind not in ("uniform", "loguniform"):
            raise UserError(f"{where}.prior: unknown distribution {kind!r} (uniform, loguniform)")
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise UserError(f"{where}.prior.{kind}: [LOW, HIGH] is required")
        low, high = (_number(b, f"{where}.prior.{kind}") for b in bounds)
        if not low < high or (kind == "loguniform" and low <= 0):
            raise UserError(
                f"{where}.prior.{kind}: [{low:g}, {high:g}] is not an interval{' above 0' * (kind == 'loguniform')}"
            )
        interval = documented_range(str(key))  # raises UserError for a key the model does not have
        if interval is not None and not (low in interval and high in interval):
            raise UserError(f"{where}.prior: [{low:g}, {high:g}] leaves the parameter's range {interval}")
        priors.append(Prior(str(key), kind, low, high, str(spec.get("why", ""))))
    return priors


def with_values(params: ModelParams, values: dict[str, float]) -> ModelParams:
    """``params`` with config keys ``model.NAME`` or ``model.NAME.ENTRY`` set to the given values."""
    changes: dict[str, Any] = {}
    for key, value in values.items():
        parts = key.split(".")
        if parts[0] != "model" or len(parts) not in (2, 3) or not hasattr(params, parts[1]):
            raise UserError(f"{key}: not a model parameter (model.NAME or model.NAME.ENTRY)")
        if len(parts) == 2:
            current = getattr(params, parts[1])
            changes[parts[1]] = type(current)(round(value)) if isinstance(current, int) else float(value)
        else:
            entry = dict(changes.get(parts[1], getattr(params, parts[1])))
            if parts[2] not in entry:
                raise UserError(f"{key}: {parts[1]} has no entry {parts[2]!r} (entries: {', '.join(entry)})")
            entry[parts[2]] = float(value)
            changes[parts[1]] = entry
    return dataclasses.replace(params, **changes)


def base_setup(overrides: list[str] | None = None) -> tuple[ModelParams, dict[str, dict[str, Any]]]:
    """The default model parameters and measures (no measures on), composed as ``escalation run`` does."""
    cfg = compose(overrides or [])
    from sim.run.config import measure_settings, model_params

    return model_params(cfg), measure_settings(cfg)


def compose(overrides: list[str]):
    """The root config with ``overrides``, checked (a bad key is a ``UserError``)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from sim.run.config import HYDRA_LOCK, check_ranges, describe_hydra_error, register_configs
    from sim.run.paths import CONF_DIR

    register_configs()
    problem = None
    with HYDRA_LOCK:  # one composition at a time in a process (the web app runs participants in threads)
        GlobalHydra.instance().clear()
        try:
            with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
                cfg = hydra_compose("config", overrides=list(overrides))
        except Exception as exc:  # Hydra's errors, in the user's words
            problem = exc
    if problem is not None:
        raise UserError(describe_hydra_error(problem)) from None
    check_ranges(cfg)
    return cfg


def setting_scenario(setting: Setting):
    """The scenario of a setting: the library file, the era applied, the horizon set, injects dropped or kept."""
    from sim.run.config import load_configured_scenario
    from sim.run.scenario_io import with_horizon

    spec = load_configured_scenario(compose([f"scenario={setting.scenario}", f"era={setting.era}"]))
    spec = with_horizon(spec, setting.horizon_days)
    return dataclasses.replace(spec, injects=spec.injects if setting.injects else ())


class Simulator:
    """Runs a parameter set on the targets' settings and computes every target's statistic."""

    def __init__(self, settings: dict[str, Setting], targets: list[Target], base: ModelParams, measures: dict) -> None:
        self.settings, self.targets, self.base, self.measures = settings, targets, base, measures
        used = {t.setting for t in targets}
        self.scenarios = {name: setting_scenario(s) for name, s in settings.items() if name in used}
        # deviance_within's order: the setting with the most targets weighing in the deviance first (where most
        # parameter sets are stopped), then the fewest replications
        weighing = {
            n: sum(t.setting == n and t.data is not None and t.data.kind != "implied" for t in targets) for n in used
        }
        self._stopping_order = sorted(self.scenarios, key=lambda n: (-weighing[n], settings[n].replications))

    def outcomes(
        self, params: ModelParams, seed: int, replications: dict[str, int] | None = None
    ) -> dict[str, pd.DataFrame]:
        """One outcome row per replication, per setting (replication seeds from ``SeedSequence(seed)``)."""
        return {name: self._frame(params, seed, name, replications) for name in self.scenarios}

    def _frame(self, params: ModelParams, seed: int, name: str, replications: dict[str, int] | None = None):
        """One setting's outcome rows; its replications' seeds depend on its place among the settings only."""
        from sim.core.measures import build
        from sim.core.model import EscalationModel
        from sim.run.runner import run_budgeted

        k = list(self.scenarios).index(name)
        n = (replications or {}).get(name, self.settings[name].replications)
        rows = []
        for i in range(n):
            model = EscalationModel(
                self.scenarios[name],
                params,
                build(self.measures),
                seed=np.random.SeedSequence(seed, spawn_key=(k, i)),
                record_events=False,
                record_changes=False,
            )
            run_budgeted(model, params, self.measures, f"{name}, replication {i}")
            rows.append(model.outcome())
        return pd.DataFrame(rows)

    def deviance_within(self, params: ModelParams, seed: int, eps: float) -> tuple[dict[str, float] | None, float]:
        """``statistics(..., tallies=True)`` and its ``deviance``; ``(None, so far)`` once past ``eps``.

        Settings run one at a time (``_stopping_order``); each target's deviance is at least 0,
        so the sum only grows and a parameter set past ``eps`` after some settings is past it after all of
        them: the same acceptance as running every setting (and the same numbers when it runs them all,
        each setting's seeds being its own), for less simulation.
        """
        frames: dict[str, pd.DataFrame] = {}
        total = 0.0
        for name in self._stopping_order:
            frames[name] = self._frame(params, seed, name)
            weighing = (t for t in self.targets if t.setting == name and t.data is not None)
            total += sum(t.data.deviance(*t.statistic.tally(frames[name])) for t in weighing)
            if total > eps:
                return None, total
        stats = self._statistics(frames, tallies=True)
        return stats, self.deviance(stats)  # summed in the targets' order, as ``deviance`` sums it: the same bits

    def statistics(self, params: ModelParams, seed: int, tallies: bool = False) -> dict[str, float]:
        """Every target's statistic for ``params``; with ``tallies``, also what each is a ratio of.

        The tallies (``NAME/x``, ``NAME/n``: ``Statistic.tally``) are what the deviance reads.
        """
        return self._statistics(self.outcomes(params, seed), tallies)

    def _statistics(self, frames: dict[str, pd.DataFrame], tallies: bool) -> dict[str, float]:
        stats = {t.name: t.statistic.value(frames[t.setting]) for t in self.targets}
        if tallies:
            for t in self.targets:
                stats[f"{t.name}/x"], stats[f"{t.name}/n"] = t.statistic.tally(frames[t.setting])
        return stats

    def deviance(self, stats: dict[str, float]) -> float:
        """The targets' deviances summed (``RecordData.deviance``), from ``statistics(..., tallies=True)``.

        -2 log of how much less likely the record is under the model than under its own best fit.
        """
        return sum(t.data.deviance(stats[f"{t.name}/x"], stats[f"{t.name}/n"]) for t in self.targets if t.data)

    def distance(self, stats: dict[str, float]) -> float:
        """Root sum of squares of the targets' deviations (band widths outside their bands); 0 when all are in."""
        return math.sqrt(sum(t.deviation(stats[t.name]) ** 2 for t in self.targets))

    def closeness(self, stats: dict[str, float]) -> float:
        """Root sum of squares of the targets' offsets from the record's values (band widths)."""
        return math.sqrt(sum(t.offset(stats[t.name]) ** 2 for t in self.targets))


@dataclass(frozen=True)
class PosteriorDraws:
    """Per-replication parameters drawn from the posterior (``parameters=posterior``).

    Replication ``i`` of master seed ``s`` takes the particle drawn (by weight) with
    ``SeedSequence(s, spawn_key=(i, POSTERIOR_KEY))``: a stream of its own, so two runs on the
    same seeds (two measure sets) take the same draws, whoever runs them.
    """

    base: ModelParams
    keys: tuple[str, ...]
    values: np.ndarray  # particles x keys, natural scale
    weights: np.ndarray
    seed: int

    POSTERIOR_KEY = 0x9057

    def index(self, replication: int) -> int:
        """The particle replication ``replication`` takes."""
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(replication, self.POSTERIOR_KEY)))
        return int(rng.choice(len(self.weights), p=self.weights))

    def for_replication(self, replication: int) -> ModelParams:
        """The parameters of replication ``replication``."""
        row = self.values[self.index(replication)]
        return with_values(self.base, dict(zip(self.keys, map(float, row), strict=True)))


def parameter_source(cfg, params: ModelParams):
    """The run's parameters: the point estimate, or per-replication draws from the posterior (``parameters=``)."""
    if cfg.get("parameters", "point") != "posterior":
        return params
    return posterior_draws(params, int(cfg.seed))


def read_posterior(path: Path = POSTERIOR_FILE) -> pd.DataFrame:
    """The posterior table: one row per particle, a column per fitted parameter and ``weight``."""
    raw = read_bounded(path, 20_000_000, "posterior table", missing="no posterior (run escalation calibrate)")
    import io

    try:
        df = pd.read_csv(io.BytesIO(raw))
    except (ValueError, pd.errors.ParserError) as exc:
        raise UserError(f"{path}: not a posterior table ({type(exc).__name__})") from None
    if "weight" not in df.columns or len(df) == 0:
        raise UserError(f"{path}: a posterior table needs a 'weight' column and at least one particle")
    bad = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c]) or not np.isfinite(df[c]).all()]
    if bad:
        raise UserError(f"{path}: column {bad[0]!r} holds values that are not finite numbers")
    if (df["weight"] < 0).any() or df["weight"].sum() <= 0:
        raise UserError(f"{path}: weights must be non-negative and not all 0")
    return df


def posterior_draws(base: ModelParams, seed: int, path: Path = POSTERIOR_FILE) -> PosteriorDraws:
    """Posterior draws for a run on master seed ``seed``, checked against the model's parameters."""
    df = read_posterior(path)
    keys = tuple(c for c in df.columns if c != "weight")
    with_values(base, {k: float(df[k].iloc[0]) for k in keys})  # every column must be a model parameter
    w = df["weight"].to_numpy(float)
    return PosteriorDraws(base, keys, df[list(keys)].to_numpy(float), w / w.sum(), seed)


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The ``q`` quantile of ``values`` under ``weights`` (the inverse of the weighted ECDF)."""
    order = np.argsort(values)
    v, w = np.asarray(values, float)[order], np.asarray(weights, float)[order]
    cum = np.cumsum(w) / w.sum()
    return float(v[min(np.searchsorted(cum, q), len(v) - 1)])
