"""Tables from stored runs: final metrics and histories as frames, seed statistics (means with
the range over seeds, seeds that learned, comparisons with exact tests and Holm's correction
over a chapter's family), the comparison with the paper, the ranking, the compute actually
spent and the corrections study's tables.

Runs come as a list of records or as a mapping scale -> records ({"cpu": ..., "paper": ...});
the frames then carry a `scale` column (categorical, in the mapping's order, empty scales
included) and every table shows each scale next to the paper. Accuracies in the comparison
tables are percentages; differences are in points.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from artrm.book.paper import L10_CHAR_ACC, LAST_CHAR_BREAKTHROUGH, LENGTH, NOT_REPORTED, Cell, cells
from artrm.book.statistics import (
    LEARNED,
    MODES,
    TRAIN_LEN,
    fisher,
    holm,
    learned_count,
    mean_range,
    min_p,
    outcome,
    proportion_interval,
    sign_flip,
    verdict,
)
from artrm.config import DECODINGS
from artrm.data.tasks import task_names
from artrm.errors import check_choice
from artrm.experiments.study import BASELINES, CORE, FIXES_OF, variant_of
from artrm.models.ladder import model_names, rung
from artrm.results.provenance import machine
from artrm.results.store import Record
from artrm.training.metrics import METRICS as TASK_METRICS
from artrm.training.reevaluate import stored_evaluation

Runs = Iterable[Record] | Mapping[str, Iterable[Record]]

PAPER_SCALE = "paper"  # the scale of the `paper` profile's runs
NOT_RUN = "not run yet"
KEYS = ["scale", "model", "task", "seed", "variant", "train_len"]
METRICS = [*TASK_METRICS, "passes"]  # a run's metrics, then its realised passes
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


def stored_scales(df: pd.DataFrame) -> list[str]:
    """The scales of `df` with at least one stored run (a scale with none gets no column)."""
    return [s for s in scales_of(df) if (df["scale"] == s).any()]


# -- seed statistics --------------------------------------------------------------------------
def seed_summary(df: pd.DataFrame, by: list[str], metric: str = "char_acc") -> pd.DataFrame:
    """Mean over seeds with the lowest and highest seed, per group."""
    rows = []
    for key, group in df.groupby(by, observed=True, sort=True):
        mean, lo, hi = mean_range(group[metric])
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key)), "mean": mean, "min": lo, "max": hi,
                     "seeds": len(group)})
    return pd.DataFrame(rows, columns=[*by, "mean", "min", "max", "seeds"])


def learned_text(values: Iterable[float], task: str, length: int = TRAIN_LEN) -> str:
    """"4/5 learned [28, 99] (1 chance)": seeds that learned, the exact 95% interval of the
    chance that a seed learns (percent), and the modes of the others (`statistics.outcome`)."""
    x = list(values)
    k, n = learned_count(x)
    lo, hi = proportion_interval(k, n)
    modes = Counter(outcome(v, task, length) for v in x)
    others = ", ".join(f"{modes[m]} {m}" for m in MODES if m != "learned" and modes[m])
    return f"{k}/{n} learned [{100 * lo:.0f}, {100 * hi:.0f}]" + (f" ({others})" if others
                                                                  else "")


def compare(df: pd.DataFrame, a: dict[str, Any], b: dict[str, Any], decoding: str,
            metric: str = "char_acc", level: float = LEARNED) -> dict[str, Any]:
    """Cell a against cell b (rows matching each selection) under `decoding`: seeds that
    reached `level` (default: learned) in each (Fisher's exact test, every seed of each cell,
    unpaired) and the mean of a - b over the seeds both have with the exact sign-flip test on
    those differences (paired: the same seed means the same training data, evaluation problems
    and initialisation), both two-sided, with the smallest p each test allows at these seeds."""
    check_choice("decoding", decoding, DECODINGS)

    def pick(sel: dict[str, Any]) -> pd.Series:
        mask = np.ones(len(df), dtype=bool)
        for k, v in sel.items():
            mask &= (df[k] == v).to_numpy()
        return df[mask].set_index("seed")[metric]

    xa, xb = pick(a), pick(b)
    common = xa.index.intersection(xb.index)
    d = (xa[common] - xb[common]).to_numpy()
    (ka, na), (kb, nb) = learned_count(xa, level), learned_count(xb, level)
    return {"decoding": decoding, "learned": f"{ka}/{na}", "against": f"{kb}/{nb}",
            "fisher p": fisher(ka, na, kb, nb) if na and nb else np.nan,
            "difference": float(d.mean()) if len(d) else np.nan, "seeds": len(common),
            "sign-flip p": sign_flip(d), "min p": min_p(len(common)),
            "fisher min p": min_p(na, paired=False, other=nb) if na and nb else np.nan}


TESTS = ["fisher p", "sign-flip p"]  # the tests of a comparison (`compare`)
COMPARISON = ["decoding", "learned", "against", "fisher p", "difference", "seeds",
              "sign-flip p", "min p", "fisher min p", "holm p", "verdict"]


def with_verdicts(rows: list[dict[str, Any]], keys: list[str]) -> pd.DataFrame:
    """Comparisons (`compare`, with `keys` naming them) as one family: Holm's correction over
    both tests of every comparison, a comparison's `holm p` the smaller corrected p of its two
    tests, and its verdict (`statistics.verdict`, from the smaller uncorrected p)."""
    df = pd.DataFrame(rows, columns=[*keys, *COMPARISON[:-2]])
    corrected = np.reshape(holm(df[TESTS].to_numpy(dtype=float).ravel()), (len(df), 2))
    raw = df[TESTS].to_numpy(dtype=float)
    df["holm p"] = np.nanmin(corrected, axis=1, initial=np.inf) if len(df) else []
    df["verdict"] = [verdict(c, r, n) for c, r, n in
                     zip(df["holm p"], np.nanmin(raw, axis=1, initial=np.inf), df["seeds"])]
    return df.round({"difference": 3})


def comparison_text(row: pd.Series | dict[str, Any]) -> str:
    """A comparison for prose: "+0.85 over 5 seeds (greedy; learned 5/5 against 0/5, Fisher p
    0.008; sign-flip p 0.062, at least 0.062; Holm p 0.9): suggestive"."""
    return (f"{row['difference']:+.2f} over {seeds_word(row['seeds'])} ({row['decoding']}; learned "
            f"{row['learned']} against {row['against']}, Fisher p {row['fisher p']:.3g}; "
            f"sign-flip p {row['sign-flip p']:.3g}, at least {row['min p']:.3g}; Holm p "
            f"{row['holm p']:.3g}): {row['verdict']}")


def seeds_word(n: int) -> str:
    """"1 seed", "4 seeds"."""
    return f"{n} seed" if n == 1 else f"{n} seeds"


def _percent(x: float) -> float:
    return round(100 * x, 1)


def _range(lo: float, hi: float, seeds: int) -> str:
    """The lowest and highest seed in percent, from two seeds on."""
    return f"[{100 * lo:.1f}, {100 * hi:.1f}]" if seeds >= 2 else ""


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
    length in percent at each scale with stored runs (mean over seeds), next to the paper's
    value."""
    rows = []
    for task in task_names():
        for m in (model, previous) if previous else (model,):
            row: dict[str, Any] = {"task": task, "rung": rung(m).display}
            for scale in stored_scales(final):
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
    two seeds on) the range over seeds; "-" where a run is not stored."""
    rows = []
    for cell in cells():
        row: dict[str, Any] = {"rung": rung(cell.model).display, "task": cell.task,
                               "measure": _measure(cell), "paper": _percent(cell.value.value),
                               "source": cell.value.source}
        for scale in scales_of(final):
            ours = _ours(final, cell.model, cell.task, scale, cell.metric, cell.length)
            mean, lo, hi = mean_range(ours)
            label = scale_label(scale)
            row[f"{label}: ours"] = _percent(mean) if len(ours) else "-"
            row[f"{label}: seeds"] = len(ours)
            row[f"{label}: difference"] = _percent(mean - cell.value.value) if len(ours) else "-"
            row[f"{label}: range"] = _range(lo, hi, len(ours))
        rows.append(row)
    df = pd.DataFrame(rows).set_index(["rung", "task", "measure"])
    empty = [c for c in df.columns if c.endswith("range") and not df[c].astype(bool).any()]
    return df.drop(columns=empty)


def headline(final: pd.DataFrame) -> pd.DataFrame:
    """For every L10 character accuracy the paper reports (one seed, sampled): the paper's
    number and ours at each scale with stored runs, the mean over every stored seed with the
    range over seeds and the seed count ("89 [79, 96], 4 seeds"), or "not run yet"."""
    rows = []
    for cell in cells():
        if (cell.metric, cell.length) != ("char_acc", LENGTH):
            continue
        row = {"rung": rung(cell.model).display, "task": cell.task,
               "the paper": f"{100 * cell.value.value:.0f}"}
        for scale in stored_scales(final):
            ours = _ours(final, cell.model, cell.task, scale, length=cell.length)
            row[f"ours, {scale_label(scale)}"] = seeds_text(ours) if len(ours) else NOT_RUN
        rows.append(row)
    return pd.DataFrame(rows).set_index(["rung", "task"])


def seed_cells(final: pd.DataFrame, scale: str) -> pd.DataFrame:
    """Every L10 character accuracy the paper reports, indexed by (model, task): the paper's
    value and ours at `scale` over every seed in `final` (mean, lowest, highest, seeds)."""
    rows = []
    for cell in cells():
        if (cell.metric, cell.length) != ("char_acc", LENGTH):
            continue
        ours = _ours(final, cell.model, cell.task, scale, length=cell.length)
        mean, lo, hi = mean_range(ours)
        rows.append({"model": cell.model, "task": cell.task, "paper": cell.value.value,
                     "mean": mean, "lo": lo, "hi": hi, "seeds": len(ours)})
    return pd.DataFrame(rows).set_index(["model", "task"])


def seeds_text(values: pd.Series) -> str:
    """An accuracy over seeds in percent: "89 [79, 96], 4 seeds", or "80, 1 seed"."""
    mean, lo, hi = mean_range(values)
    if len(values) == 1:
        return f"{100 * mean:.0f}, 1 seed"
    return f"{100 * mean:.0f} [{100 * lo:.0f}, {100 * hi:.0f}], {len(values)} seeds"


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
    rung: the mean in percent with the range over seeds, and the seeds that learned the task
    with the exact 95% interval of the chance that a seed does (`learned_text`)."""
    df = at_train_len(final[final["variant"] == "faithful"])
    rows = []
    for (scale, task, model), group in df.groupby(["scale", "task", "model"], observed=True):
        mean, lo, hi = mean_range(group["char_acc"])
        length = int(group["train_len"].iloc[0])
        rows.append({"scale": scale_label(scale), "task": task, "rung": rung(model).display,
                     "mean": _percent(mean), "range": _range(lo, hi, len(group)),
                     "learned": learned_text(group["char_acc"], task, length),
                     "seeds": len(group)})
    columns = ["scale", "task", "rung", "mean", "range", "learned", "seeds"]
    return pd.DataFrame(rows, columns=columns).set_index(columns[:3])


def rung_differences(final: pd.DataFrame, decoding: str) -> pd.DataFrame:
    """Each rung against the previous one present (ladder order) at the training length, at
    each scale, evaluated with `decoding` (`compare`); the table is one family for Holm's
    correction (`with_verdicts`). The difference is in points."""
    df = at_train_len(final[final["variant"] == "faithful"])
    rows = []
    for (scale, task), group in df.groupby(["scale", "task"], observed=True):
        present = [m for m in model_names() if (group["model"] == m).any()]
        for prev, model in pairwise(present):
            rows.append({"scale": scale_label(scale), "task": task,
                         "rung": rung(model).display, "minus": rung(prev).display,
                         **compare(group, {"model": model}, {"model": prev}, decoding)})
    keys = ["scale", "task", "rung", "minus"]
    table = with_verdicts(rows, keys)
    table["difference"] = (100 * table["difference"]).round(1)
    return table.rename(columns={"difference": "difference (points)"}).set_index(keys)


def breakthroughs(history: pd.DataFrame, task: str = "addition", metric: str = "last_char_acc",
                  threshold: float = 0.5) -> pd.DataFrame:
    """The first evaluated step at which `metric` (mean over seeds, at the training length)
    passes `threshold`, per rung and scale, next to the paper's (for the last character of
    addition); "never" says within how many steps."""
    df = at_train_len(history[(history["task"] == task) & (history["variant"] == "faithful")])
    rows = []
    for m in model_names():
        row: dict[str, Any] = {"rung": rung(m).display}
        for scale in stored_scales(df):
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
                     "seed": r["seed"], "device": p["device_name"], "machine": machine(p),
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
STACKED = (("state_norm+deep_supervision", "deep_supervision"),
           ("all", "all but state_norm"))  # state_norm on top of other corrections
RANKING_TASK = "addition"  # the task of the paper's ranking of the flat rungs
STUDY_KEYS = ["task", "model", "variant", "minus", "minus variant"]


def study_family(df: pd.DataFrame) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """The corrections study's comparisons, (task, a, b) for the cells present: per task and
    nested rung, every core variant against faithful and the two STACKED pairs; every nested
    rung in every core variant against each baseline; and on RANKING_TASK, the Dual UT against
    Dense. The screen (one or two seeds) is shown, not tested."""
    def present(task: str, cell: dict[str, str]) -> bool:
        return bool(((df["task"] == task) & (df["model"] == cell["model"])
                     & (df["variant"] == cell["variant"])).any())

    family = []
    for task in task_names():
        pairs = [({"model": m, "variant": v}, {"model": m, "variant": against})
                 for m in FIXES_OF for v, against in
                 [(v, "faithful") for v in CORE[1:]] + list(STACKED)]
        pairs += [({"model": m, "variant": v}, {"model": base, "variant": "faithful"})
                  for m in FIXES_OF for v in CORE for base in BASELINES]
        if task == RANKING_TASK:
            pairs.append(({"model": "ut_level1", "variant": "faithful"},
                          {"model": "gpt", "variant": "faithful"}))
        family += [(task, a, b) for a, b in pairs if present(task, a) and present(task, b)]
    return family


def study_comparisons(df: pd.DataFrame, decoding: str) -> pd.DataFrame:
    """Every comparison of the study (`study_family`) on a frame of final metrics at the
    training length evaluated with `decoding` (`compare`), as one family for Holm's
    correction (`with_verdicts`)."""
    rows = [{"task": task, "model": a["model"], "variant": a["variant"], "minus": b["model"],
             "minus variant": b["variant"], **compare(df[df["task"] == task], a, b, decoding)}
            for task, a, b in study_family(df)]
    return with_verdicts(rows, STUDY_KEYS)


def study_differences(df: pd.DataFrame, decoding: str) -> pd.DataFrame:
    """The study's corrections of each nested rung against the same rung (faithful, or the
    STACKED reference), with their tests (`study_comparisons`)."""
    table = study_comparisons(df, decoding)
    return table[table["model"] == table["minus"]].reset_index(drop=True)


def study_gaps(df: pd.DataFrame, decoding: str) -> pd.DataFrame:
    """The nested rungs (faithful and in every core variant) against the baselines, with their
    tests (`study_comparisons`)."""
    table = study_comparisons(df, decoding)
    return table[table["model"].isin(FIXES_OF) & table["minus"].isin(BASELINES)
                 ].reset_index(drop=True)


def _select(df: pd.DataFrame, **where: Any) -> pd.Series:
    """Character accuracy of the rows whose columns equal `where` (a list or tuple: any of)."""
    mask = np.ones(len(df), dtype=bool)
    for column, value in where.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        mask &= df[column].isin(values).to_numpy()
    return df[mask]["char_acc"]


def span(values: Iterable[float], digits: int = 2) -> str:
    """The range of some values for prose ("0.10 to 0.15", or one value), or "not run yet"."""
    x = sorted(values)
    if not x:
        return NOT_RUN
    lo, hi = f"{x[0]:.{digits}f}", f"{x[-1]:.{digits}f}"
    return lo if lo == hi else f"{lo} to {hi}"


def study_lengths(df: pd.DataFrame) -> pd.DataFrame:
    """Mean character accuracy at every evaluation length: faithful, rope and all variants."""
    keep = df[df["variant"].isin(["faithful", "rope", "all"])]
    return keep.pivot_table(index=["task", "model", "variant"], columns="length",
                            values="char_acc", observed=True).round(3)
