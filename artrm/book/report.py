"""Tables from stored runs: final metrics and histories as frames, seed statistics (means with
95% Student-t intervals, paired differences), the comparison with the paper, the ranking, the
compute actually spent and the corrections study's tables.

Runs come as a list of records or as a mapping scale -> records ({"cpu": ..., "paper": ...});
the frames then carry a `scale` column (categorical, in the mapping's order, empty scales
included) and every table shows each scale next to the paper. Accuracies in the comparison
tables are percentages; differences are in points.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from artrm.book.paper import L10_CHAR_ACC, LAST_CHAR_BREAKTHROUGH, LENGTH, NOT_REPORTED, Cell, cells
from artrm.book.statistics import LEARNED, MIN_SEEDS, bounds_of, mean_interval, reliable
from artrm.data.tasks import task_names
from artrm.experiments.study import BASELINES, CORE, FIXES_OF, variant_of
from artrm.models.ladder import model_names, rung
from artrm.results.store import Record
from artrm.training.reevaluate import stored_evaluation

Runs = Iterable[Record] | Mapping[str, Iterable[Record]]

PAPER_SCALE = "paper"  # the scale of the `paper` profile's runs
NOT_RUN = "not run yet"
KEYS = ["scale", "model", "task", "seed", "variant", "train_len"]
METRICS = ["char_acc", "seq_acc", "first_char_acc", "last_char_acc", "pos_q1_acc", "pos_q2_acc",
           "pos_q3_acc", "pos_q4_acc", "passes"]
SHOWN = {"char_acc": "char", "seq_acc": "sequence", "first_char_acc": "first char",
         "last_char_acc": "last char"}  # metric -> its column in the tables


def scale_label(scale: str) -> str:
    """How a scale is named in tables and legends."""
    return "paper scale" if scale == PAPER_SCALE else scale or "ours"


def by_scale(runs: Runs) -> tuple[list[str], list[tuple[str, Record]]]:
    """The scales (in order) and (scale, record) pairs; a plain list is the one scale ""."""
    if isinstance(runs, Mapping):
        return list(runs), [(s, r) for s, records in runs.items() for r in records]
    return [""], [("", r) for r in runs]


def _keys(scale: str, r: Record) -> dict[str, Any]:
    return {"scale": scale, "model": r["model"], "task": r["task"], "seed": r["seed"],
            "variant": variant_of(r["config"]), "train_len": r["config"]["data"]["train_len"]}


def _frame(rows: list[dict[str, Any]], scales: list[str], columns: list[str]) -> pd.DataFrame:
    """Rows as a frame with scale, model and task in book order (columns kept when empty)."""
    df = pd.DataFrame(rows) if rows else pd.DataFrame(columns=columns)
    df["scale"] = pd.Categorical(df["scale"], categories=scales, ordered=True)
    df["model"] = pd.Categorical(df["model"], categories=model_names(), ordered=True)
    df["task"] = pd.Categorical(df["task"], categories=task_names(), ordered=True)
    keys = [k for k in ("scale", "task", "model", "variant", "seed", "step", "length")
            if k in df]
    return df.sort_values(keys).reset_index(drop=True)


def final_frame(runs: Runs, evaluation: str = "final") -> pd.DataFrame:
    """One row per (run, evaluation length) with every metric of the final evaluation, or of
    a stored re-evaluation (`evaluation="greedy"`: the greedy one with the trained steps)."""
    scales, pairs = by_scale(runs)
    rows = []
    for scale, r in pairs:
        metrics = r["final"] if evaluation == "final" else stored_evaluation(r, evaluation)
        for length, m in (metrics or {}).items():
            rows.append({**_keys(scale, r), "length": int(length), **m})
    return _frame(rows, scales, [*KEYS, "length", *METRICS])


def history_frame(runs: Runs, length: int | None = None) -> pd.DataFrame:
    """One row per (run, evaluation round, length) with training statistics and metrics."""
    scales, pairs = by_scale(runs)
    rows = []
    for scale, r in pairs:
        for h in r["history"]:
            train = {k: v for k, v in h.items() if k.startswith("train_")}
            for ln, m in h["eval"].items():
                if length is None or int(ln) == length:
                    rows.append({**_keys(scale, r), "step": h["step"], "length": int(ln),
                                 **train, **m})
    return _frame(rows, scales, [*KEYS, "step", "length", *METRICS])


def at_train_len(df: pd.DataFrame) -> pd.DataFrame:
    """The rows evaluated at their run's training length."""
    return df[df["length"] == df["train_len"]]


def scales_of(df: pd.DataFrame) -> list[str]:
    return list(df["scale"].cat.categories)


# -- seed statistics --------------------------------------------------------------------------
def seed_summary(df: pd.DataFrame, by: list[str], metric: str = "char_acc") -> pd.DataFrame:
    """Mean over seeds with its 95% interval, per group."""
    rows = []
    for key, group in df.groupby(by, observed=True, sort=True):
        mean, lo, hi = mean_interval(group[metric], bounds=bounds_of(metric))
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key)), "mean": mean, "ci_low": lo, "ci_high": hi,
                     "seeds": len(group)})
    return pd.DataFrame(rows, columns=[*by, "mean", "ci_low", "ci_high", "seeds"])


def paired_difference(df: pd.DataFrame, a: dict[str, Any], b: dict[str, Any],
                      metric: str = "char_acc") -> dict[str, Any]:
    """Mean of a - b over seeds both have (the same seed means the same training and
    evaluation problems), with its 95% interval; `reliable` when the interval excludes 0 and
    rests on at least MIN_SEEDS seeds."""
    def pick(sel: dict[str, Any]) -> pd.Series:
        mask = np.ones(len(df), dtype=bool)
        for k, v in sel.items():
            mask &= (df[k] == v).to_numpy()
        return df[mask].set_index("seed")[metric]

    xa, xb = pick(a), pick(b)
    common = xa.index.intersection(xb.index)
    mean, lo, hi = mean_interval((xa[common] - xb[common]).to_numpy(),
                                  bounds=bounds_of(metric, difference=True))
    return {"difference": mean, "ci_low": lo, "ci_high": hi, "seeds": len(common),
            "reliable": reliable(lo, hi, len(common))}


def _percent(x: float) -> float:
    return round(100 * x, 1)


def _interval(lo: float, hi: float, seeds: int) -> str:
    """A 95% interval in percent, shown from MIN_SEEDS seeds on."""
    return f"[{100 * lo:.1f}, {100 * hi:.1f}]" if seeds >= MIN_SEEDS else ""


def _rounded(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns).round(3)


# -- one rung -----------------------------------------------------------------------------
def metrics_table(final: pd.DataFrame, model: str) -> pd.DataFrame:
    """A rung's final metrics at every evaluation length, in percent (mean over seeds), at
    each scale."""
    df = final[final["model"] == model]
    groups = df.groupby(["scale", "task", "length"], observed=True)
    table = (100 * groups[list(SHOWN)].mean()).round(1).rename(columns=SHOWN)
    table["seeds"] = groups["seed"].nunique()
    return table.rename(index=scale_label, level=0)


def _ours(df: pd.DataFrame, model: str, task: str, scale: str, metric: str = "char_acc",
          length: int | None = None) -> pd.Series:
    """Our values (one per seed) of one cell at one scale, at `length` (default: the run's
    training length)."""
    sel = df[(df["model"] == model) & (df["task"] == task) & (df["scale"] == scale)
             & (df["variant"] == "faithful")]
    sel = at_train_len(sel) if length is None else sel[sel["length"] == length]
    return sel[metric]


def versus(final: pd.DataFrame, model: str, previous: str | None) -> pd.DataFrame:
    """This rung and the previous one on every task: character accuracy at the training
    length in percent at each scale (mean over seeds), next to the paper's value."""
    rows = []
    for task in task_names():
        for m in (model, previous) if previous else (model,):
            row: dict[str, Any] = {"task": task, "rung": rung(m).display}
            for scale in scales_of(final):
                ours = _ours(final, m, task, scale)
                row[f"ours, {scale_label(scale)}"] = (_percent(ours.mean()) if len(ours)
                                                      else NOT_RUN)
            ref = L10_CHAR_ACC.get((m, task))
            row["the paper"] = _percent(ref.value) if ref else NOT_REPORTED
            rows.append(row)
    return pd.DataFrame(rows).set_index(["task", "rung"])


# -- the paper's numbers ------------------------------------------------------------------
def _measure(cell: Cell) -> str:
    return f"L{cell.length} {cell.metric.replace('_acc', '').replace('_', ' ')}"


def paper_cells(final: pd.DataFrame) -> pd.DataFrame:
    """Every number the paper reports against ours at each scale: the paper's value and its
    source, then per scale our mean over seeds, the seeds, the difference in points and (from
    MIN_SEEDS seeds on) the 95% interval; "-" where a run is not stored."""
    rows = []
    for cell in cells():
        row: dict[str, Any] = {"rung": rung(cell.model).display, "task": cell.task,
                               "measure": _measure(cell), "paper": _percent(cell.value.value),
                               "source": cell.value.source}
        for scale in scales_of(final):
            ours = _ours(final, cell.model, cell.task, scale, cell.metric, cell.length)
            mean, lo, hi = mean_interval(ours, bounds=bounds_of(cell.metric))
            label = scale_label(scale)
            row[f"{label}: ours"] = _percent(mean) if len(ours) else "-"
            row[f"{label}: seeds"] = len(ours)
            row[f"{label}: difference"] = _percent(mean - cell.value.value) if len(ours) else "-"
            row[f"{label}: 95% interval"] = _interval(lo, hi, len(ours))
        rows.append(row)
    df = pd.DataFrame(rows).set_index(["rung", "task", "measure"])
    empty = [c for c in df.columns if c.endswith("interval") and not df[c].astype(bool).any()]
    return df.drop(columns=empty)


def headline(final: pd.DataFrame) -> pd.DataFrame:
    """For every L10 character accuracy the paper reports: the paper's number and ours at
    each scale (mean over seeds), or "not run yet"."""
    rows = []
    for cell in cells():
        if (cell.metric, cell.length) != ("char_acc", LENGTH):
            continue
        row = {"rung": rung(cell.model).display, "task": cell.task,
               "the paper": f"{100 * cell.value.value:.1f}%"}
        for scale in scales_of(final):
            ours = _ours(final, cell.model, cell.task, scale, length=cell.length)
            row[f"ours, {scale_label(scale)}"] = f"{100 * ours.mean():.1f}%" if len(ours) \
                else NOT_RUN
        rows.append(row)
    return pd.DataFrame(rows).set_index(["rung", "task"])



def ranking(final: pd.DataFrame, task: str = "addition") -> pd.DataFrame:
    """The rungs ranked by character accuracy at the training length on `task`: the paper's
    value and rank, then ours and our rank at each scale."""
    rows = {m: {"rung": rung(m).display} for m in model_names()}
    for m, row in rows.items():
        ref = L10_CHAR_ACC.get((m, task))
        row["paper"] = _percent(ref.value) if ref else np.nan
    for scale in scales_of(final):
        for m, row in rows.items():
            ours = _ours(final, m, task, scale)
            row[f"ours, {scale_label(scale)}"] = _percent(ours.mean()) if len(ours) else np.nan
    df = pd.DataFrame(rows.values()).set_index("rung")
    out = pd.DataFrame(index=df.index)
    for column in df.columns:
        ranks = df[column].rank(ascending=False, method="min")
        out[column] = ["-" if pd.isna(v) else v for v in df[column]]
        out[f"rank ({column})"] = ["-" if pd.isna(r) else int(r) for r in ranks]
    return out


def seed_table(final: pd.DataFrame) -> pd.DataFrame:
    """Character accuracy at the training length over every stored seed, per scale, task and
    rung: the mean in percent, with its 95% interval from MIN_SEEDS seeds on."""
    df = at_train_len(final[final["variant"] == "faithful"])
    rows = []
    for (scale, task, model), group in df.groupby(["scale", "task", "model"], observed=True):
        mean, lo, hi = mean_interval(group["char_acc"])
        rows.append({"scale": scale_label(scale), "task": task, "rung": rung(model).display,
                     "mean": _percent(mean), "95% interval": _interval(lo, hi, len(group)),
                     "seeds": len(group)})
    columns = ["scale", "task", "rung", "mean", "95% interval", "seeds"]
    return pd.DataFrame(rows, columns=columns).set_index(columns[:3])


def rung_differences(final: pd.DataFrame) -> pd.DataFrame:
    """Each rung against the previous one present (ladder order), paired by seed at the
    training length, at each scale, in points; `reliable` when the 95% interval of the
    difference excludes zero and rests on at least MIN_SEEDS seeds."""
    df = at_train_len(final[final["variant"] == "faithful"])
    rows = []
    for (scale, task), group in df.groupby(["scale", "task"], observed=True):
        present = [m for m in model_names() if (group["model"] == m).any()]
        for prev, model in pairwise(present):
            d = paired_difference(group, {"model": model}, {"model": prev})
            rows.append({"scale": scale_label(scale), "task": task,
                         "rung": rung(model).display, "minus": rung(prev).display,
                         "difference (points)": _percent(d["difference"]),
                         "95% interval": _interval(d["ci_low"], d["ci_high"], d["seeds"]),
                         "seeds": d["seeds"], "reliable": "yes" if d["reliable"] else "no"})
    columns = ["scale", "task", "rung", "minus", "difference (points)", "95% interval",
               "seeds", "reliable"]
    return pd.DataFrame(rows, columns=columns).set_index(columns[:4])


def breakthroughs(history: pd.DataFrame, task: str = "addition", metric: str = "last_char_acc",
                  threshold: float = 0.5) -> pd.DataFrame:
    """The first evaluated step at which `metric` (mean over seeds, at the training length)
    passes `threshold`, per rung and scale, next to the paper's (for the last character of
    addition); "never" says within how many steps."""
    df = at_train_len(history[(history["task"] == task) & (history["variant"] == "faithful")])
    rows = []
    for m in model_names():
        row: dict[str, Any] = {"rung": rung(m).display}
        for scale in scales_of(df):
            curve = df[(df["model"] == m) & (df["scale"] == scale)].groupby("step")[metric].mean()
            past = curve[curve > threshold]
            row[f"ours, {scale_label(scale)}"] = (
                NOT_RUN if curve.empty else int(past.index[0]) if len(past)
                else f"never (in {int(curve.index[-1])} steps)")
        if task == "addition" and metric == "last_char_acc" and m in LAST_CHAR_BREAKTHROUGH:
            step = LAST_CHAR_BREAKTHROUGH[m]
            row["the paper"] = "never" if step is None else step
        else:
            row["the paper"] = NOT_REPORTED
        rows.append(row)
    return pd.DataFrame(rows).set_index("rung")


# -- compute and provenance -------------------------------------------------------------------
def compute_table(runs: Runs) -> pd.DataFrame:
    """Nominal against realised block passes per training step (mean over the run), forward
    and backward, with the parameter count: compute matching as it actually happened."""
    scales, pairs = by_scale(runs)
    rows = [{**_keys(scale, r), "nominal": r["passes"]["nominal"],
             "forward (realised)": r["passes"]["forward_mean"],
             "backward (realised)": r["passes"]["backward_mean"], "parameters": r["params"]}
            for scale, r in pairs]
    columns = ["nominal", "forward (realised)", "backward (realised)", "parameters"]
    df = _frame(rows, scales, [*KEYS, *columns])
    table = df.groupby(["scale", "model", "task"], observed=True)[columns].mean().round(1)
    table["parameters"] = table["parameters"].map("{:,.0f}".format)
    return table.rename(index=scale_label, level=0).rename(
        index=lambda m: rung(m).display, level=1).rename_axis(["scale", "rung", "task"])


def provenance_table(runs: Runs) -> pd.DataFrame:
    """Where, when and with what each run was produced."""
    _, pairs = by_scale(runs)
    rows = []
    for scale, r in pairs:
        p = r["provenance"]
        rows.append({"scale": scale_label(scale), "model": r["model"], "task": r["task"],
                     "seed": r["seed"], "device": p["device_name"],
                     "threads": p["exec"]["threads"], "torch": p["torch"],
                     "python": p["python"], "commit": (p["git"]["commit"] or "-")[:10]
                     + ("+" if p["git"]["dirty"] else ""), "created": p["created"][:10],
                     "wall time (s)": round(p["wall_time_s"])})
    return pd.DataFrame(rows)


def sweep_frame(records: Iterable[Record], decoding: str = "greedy") -> pd.DataFrame:
    """Stored test-time compute evaluations: one row per (run, loop steps, length)."""
    rows = []
    for r in records:
        for e in r.get("evaluations", []):
            if e["decoding"] != decoding or e["full_compute"]:
                continue
            steps = e["steps"] or e["trained_steps"]
            for length, m in e["metrics"].items():
                rows.append({**_keys("", r), "steps": steps, "trained_steps": e["trained_steps"],
                             "ratio": steps / e["trained_steps"], "length": int(length), **m})
    df = _frame(rows, [""], [*KEYS, "steps", "trained_steps", "ratio", "length", *METRICS])
    return df.drop_duplicates(subset=["model", "task", "seed", "variant", "steps", "length"])


# -- the corrections study ----------------------------------------------------------------
def study_differences(df: pd.DataFrame) -> pd.DataFrame:
    """Every corrected variant of the nested rungs against its faithful model, paired by
    seed, at the training length of `df` (one row per task x model x variant)."""
    rows = []
    for (task, model), group in df.groupby(["task", "model"], observed=True):
        if model not in FIXES_OF:
            continue
        base = group[group["variant"] == "faithful"]
        for variant in [v for v in group["variant"].unique() if v != "faithful"]:
            d = paired_difference(group, {"variant": variant}, {"variant": "faithful"})
            rows.append({"task": task, "model": model, "variant": variant,
                         "faithful": base["char_acc"].mean(),
                         "corrected": group[group["variant"] == variant]["char_acc"].mean(),
                         **d})
    return _rounded(rows, ["task", "model", "variant", "faithful", "corrected", "difference",
                           "ci_low", "ci_high", "seeds", "reliable"])


def study_gaps(df: pd.DataFrame) -> pd.DataFrame:
    """The nested rungs (faithful and in every core variant) against the baselines, paired by
    seed, per task."""
    rows = []
    for task, group in df.groupby("task", observed=True):
        for model in FIXES_OF:
            for variant in CORE:
                if not ((group["model"] == model) & (group["variant"] == variant)).any():
                    continue
                for baseline in BASELINES:
                    d = paired_difference(group, {"model": model, "variant": variant},
                                          {"model": baseline, "variant": "faithful"})
                    rows.append({"task": task, "model": f"{model} ({variant})",
                                 "minus": baseline, **d})
    return _rounded(rows, ["task", "model", "minus", "difference", "ci_low", "ci_high", "seeds",
                           "reliable"])


def study_learned(df: pd.DataFrame, threshold: float = LEARNED) -> pd.DataFrame:
    """How many seeds of each model x variant learned each task ("k/n": character accuracy at
    least `threshold`). Outcomes here are bimodal (a run learns the task or stays at chance),
    so this count says more than a mean over few seeds."""
    def count(x: pd.Series) -> str:
        return f"{int((x >= threshold).sum())}/{len(x)}"

    return df.pivot_table(index=["model", "variant"], columns="task", values="char_acc",
                          aggfunc=count, observed=True).fillna("-")


def _select(df: pd.DataFrame, **where: Any) -> pd.Series:
    """Character accuracy of the rows whose columns equal `where` (a list or tuple: any of)."""
    mask = np.ones(len(df), dtype=bool)
    for column, value in where.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        mask &= df[column].isin(values).to_numpy()
    return df[mask]["char_acc"]


def mean_text(df: pd.DataFrame, **where: Any) -> str:
    """The mean character accuracy of a selection, for prose ("0.955"), or "not run yet"."""
    x = _select(df, **where)
    return f"{x.mean():.3f}" if len(x) else NOT_RUN


def span(values: Iterable[float], digits: int = 2) -> str:
    """The range of some values for prose ("0.10 to 0.15", or one value), or "not run yet"."""
    x = sorted(values)
    if not x:
        return NOT_RUN
    lo, hi = f"{x[0]:.{digits}f}", f"{x[-1]:.{digits}f}"
    return lo if lo == hi else f"{lo} to {hi}"


def span_text(df: pd.DataFrame, **where: Any) -> str:
    """The range of character accuracy over a selection's runs, for prose ("0.10 to 0.15")."""
    return span(_select(df, **where))


def study_lengths(df: pd.DataFrame) -> pd.DataFrame:
    """Mean character accuracy at every evaluation length: faithful, rope and all variants."""
    keep = df[df["variant"].isin(["faithful", "rope", "all"])]
    return keep.pivot_table(index=["task", "model", "variant"], columns="length",
                            values="char_acc", observed=True).round(3)
