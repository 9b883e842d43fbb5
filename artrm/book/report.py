"""Tables from stored runs: final metrics, histories, the comparison with the paper, and
seed statistics (means with 95% bootstrap intervals, paired differences between variants)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from artrm.registry import model_names, rung
from artrm.book.paper import L10_CHAR_ACC
from artrm.experiments.profiles import Profile, get_profile
from artrm.training.reevaluate import stored_evaluation
from artrm.results.store import Record, ResultStore
from artrm.experiments.study import variant_of
from artrm.data.tasks import task_names


def profile_records(profile: Profile | str, models: Iterable[str] | None = None,
                    tasks: Iterable[str] | None = None, seeds: Iterable[int] | None = None,
                    store: ResultStore | None = None) -> list[Record]:
    """The stored runs of a profile's grid (missing runs are left out)."""
    profile = get_profile(profile) if isinstance(profile, str) else profile
    store = store or ResultStore()
    configs = profile.configs(tuple(models or ()) or None, tuple(tasks or ()) or None,
                              tuple(seeds or ()) or None)
    return [r for c in configs if (r := store.find(c)) is not None]


def final_frame(records: Iterable[Record], evaluation: str = "final") -> pd.DataFrame:
    """One row per (run, length) with every metric of the final evaluation, or of a stored
    re-evaluation (`evaluation="greedy"` picks the greedy one with the trained steps)."""
    rows = []
    for r in records:
        metrics = r["final"] if evaluation == "final" else stored_evaluation(r, evaluation)
        if metrics is None:
            continue
        for length, m in metrics.items():
            rows.append({"model": r["model"], "task": r["task"], "seed": r["seed"],
                         "variant": variant_of(r["config"]), "length": int(length), **m})
    return _ordered(pd.DataFrame(rows))


def history_frame(records: Iterable[Record], length: int | None = None) -> pd.DataFrame:
    """One row per (run, evaluation round, length) with training statistics and metrics."""
    rows = []
    for r in records:
        for h in r["history"]:
            train = {k: v for k, v in h.items() if k.startswith("train_")}
            for ln, m in h["eval"].items():
                if length is None or int(ln) == length:
                    rows.append({"model": r["model"], "task": r["task"], "seed": r["seed"],
                                 "variant": variant_of(r["config"]), "step": h["step"],
                                 "length": int(ln), **train, **m})
    return _ordered(pd.DataFrame(rows))


def _ordered(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        return df
    df["model"] = pd.Categorical(df["model"], categories=model_names(), ordered=True)
    df["task"] = pd.Categorical(df["task"], categories=task_names(), ordered=True)
    keys = [k for k in ("task", "model", "variant", "seed", "step", "length") if k in df]
    return df.sort_values(keys).reset_index(drop=True)


def paper_comparison(records: Iterable[Record], length: int = 10) -> pd.DataFrame:
    """Every (model, task) cell the paper reports at L10: paper, ours (mean over seeds), and
    the difference in points."""
    df = final_frame(records)
    df = df[(df["length"] == length) & (df["variant"] == "faithful")]
    ours = df.groupby(["model", "task"], observed=True)["char_acc"].agg(["mean", "count"])
    rows = []
    for (model, task), ref in L10_CHAR_ACC.items():
        if (model, task) not in ours.index:
            continue
        mean, n = ours.loc[(model, task)]
        rows.append({"model": rung(model).display, "task": task, "paper": ref.value,
                     "paper source": ref.source, "ours": mean, "seeds": int(n),
                     "difference (points)": 100 * (mean - ref.value)})
    return pd.DataFrame(rows)


def bootstrap_mean(values: Iterable[float], level: float = 0.95, n_boot: int = 10_000,
                   seed: int = 0) -> tuple[float, float, float]:
    """Mean and a percentile bootstrap interval (deterministic for a given seed)."""
    x = np.asarray(list(values), dtype=float)
    if len(x) == 0:
        return (float("nan"),) * 3
    if len(x) == 1:
        return float(x[0]), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(n_boot, len(x)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(x.mean()), float(lo), float(hi)


def seed_summary(df: pd.DataFrame, by: list[str], metric: str = "char_acc") -> pd.DataFrame:
    """Mean over seeds with its 95% bootstrap interval, per group."""
    rows = []
    for key, group in df.groupby(by, observed=True, sort=True):
        mean, lo, hi = bootstrap_mean(group[metric])
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key)), "mean": mean, "ci_low": lo, "ci_high": hi,
                     "seeds": len(group)})
    return pd.DataFrame(rows)


MIN_SEEDS = 3  # the fewest seeds a difference may be called reliable on


def paired_difference(df: pd.DataFrame, a: dict[str, Any], b: dict[str, Any],
                      metric: str = "char_acc") -> dict[str, float]:
    """Mean of a - b over seeds both have (the same seed means the same training and
    evaluation problems), with a 95% bootstrap interval; `reliable` when it excludes 0 and
    rests on at least MIN_SEEDS seeds (from two, a bootstrap interval is only their range)."""
    def pick(sel: dict[str, Any]) -> pd.Series:
        mask = np.ones(len(df), dtype=bool)
        for k, v in sel.items():
            mask &= (df[k] == v).to_numpy()
        return df[mask].set_index("seed")[metric]

    xa, xb = pick(a), pick(b)
    common = xa.index.intersection(xb.index)
    mean, lo, hi = bootstrap_mean((xa[common] - xb[common]).to_numpy())
    return {"difference": mean, "ci_low": lo, "ci_high": hi, "seeds": len(common),
            "reliable": bool(len(common) >= MIN_SEEDS and (lo > 0 or hi < 0))}


def compute_table(records: Iterable[Record]) -> pd.DataFrame:
    """Nominal against realised block passes per training step (mean over the run), forward
    and backward, with the parameter count: compute matching as it actually happened."""
    rows = []
    for r in records:
        rows.append({"model": r["model"], "task": r["task"], "seed": r["seed"],
                     "nominal": r["passes"]["nominal"],
                     "forward (realised)": r["passes"]["forward_mean"],
                     "backward (realised)": r["passes"]["backward_mean"],
                     "parameters": r["params"]})
    df = _ordered(pd.DataFrame(rows))
    return (df.groupby(["model", "task"], observed=True)
            [["nominal", "forward (realised)", "backward (realised)", "parameters"]]
            .mean().round(1))


def ranking(final: pd.DataFrame, task: str = "addition", length: int = 10) -> pd.DataFrame:
    """Models ranked by mean L10 character accuracy, ours next to the paper's."""
    df = final[(final["task"] == task) & (final["length"] == length)
               & (final["variant"] == "faithful")]
    ours = df.groupby("model", observed=True)["char_acc"].mean().sort_values(ascending=False)
    rows = []
    for rank, (model, acc) in enumerate(ours.items(), 1):
        ref = L10_CHAR_ACC.get((model, task))
        rows.append({"our rank": rank, "model": rung(model).display, "ours": round(acc, 3),
                     "paper": ref.value if ref else None})
    out = pd.DataFrame(rows)
    out["paper rank"] = out["paper"].rank(ascending=False, method="min")
    return out.set_index("our rank")


def sweep_frame(records: Iterable[Record], decoding: str = "greedy") -> pd.DataFrame:
    """Stored test-time compute evaluations: one row per (run, loop steps, length)."""
    rows = []
    for r in records:
        for e in r.get("evaluations", []):
            if e["decoding"] != decoding or e["full_compute"]:
                continue
            steps = e["steps"] or e["trained_steps"]
            for length, m in e["metrics"].items():
                rows.append({"model": r["model"], "task": r["task"], "seed": r["seed"],
                             "variant": variant_of(r["config"]), "steps": steps,
                             "trained_steps": e["trained_steps"],
                             "ratio": steps / e["trained_steps"], "length": int(length), **m})
    return _ordered(pd.DataFrame(rows)).drop_duplicates(
        subset=["model", "task", "seed", "variant", "steps", "length"])
