"""Tables and figures of the two analyses from the authors' repository (see
`artrm.experiments.sweeps`): the H-L structure of the nested rungs at a fixed budget, and
accuracy against the block-pass budget for every weight-tied rung."""

from __future__ import annotations

from collections.abc import Iterable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from artrm.book.paper import HL_STRUCTURE
from artrm.book.plots import PAPER_MARK, VARIANT_STYLE, colour, finish, label, panels, present
from artrm.book.report import compare, with_verdicts
from artrm.book.statistics import learned_count, plateau_top, proportion_interval
from artrm.experiments.sweeps import TASK
from artrm.models.ladder import model_names
from artrm.results.schema import Record
from artrm.training.reevaluate import stored_evaluation

METRICS = ["char_acc", "first_char_acc", "last_char_acc", "seq_acc"]  # shown, of TASK_METRICS


def frame(records: Iterable[Record], length: int) -> pd.DataFrame:
    """One row per run: model, the bounded-state switch, H, L, N, budget, the realised passes
    (forward, and those that carry gradient) and the final metrics at `length` (sampling, the
    paper's protocol)."""
    rows = []
    for r in records:
        a, plan = r["config"]["arch"], r["plan"]
        rows.append({"model": r["model"], "seed": r["seed"],
                     "variant": "state_norm" if a["state_norm"] else "faithful",
                     "H": plan["n_outer"], "L": plan["n_inner"], "N": plan["n_layer"],
                     "budget": a["budget"], "passes": r["passes"]["forward_mean"],
                     "grad_passes": r["passes"]["backward_mean"],
                     **{m: r["final"][str(length)][m] for m in METRICS}})
    return pd.DataFrame(rows, columns=["model", "seed", "variant", "H", "L", "N", "budget",
                                       "passes", "grad_passes", *METRICS])


NO_RUN = pd.DataFrame({"": ["no run stored"]}).set_index("")  # a table with nothing to show


def hl_table(df: pd.DataFrame) -> pd.DataFrame:
    """Mean accuracies per (model, variant, H, L) over seeds, with the authors' two runs."""
    if df.empty:
        return NO_RUN
    out = df.groupby(["model", "variant", "H", "L", "N"], sort=False)[
        ["passes", "grad_passes", *METRICS]].mean()
    out["seeds"] = df.groupby(["model", "variant", "H", "L", "N"], sort=False)["seed"].nunique()
    out["authors' runs"] = [
        ", ".join(f"{x.value:.2f}" for x in HL_STRUCTURE[(m, h, inner)])
        if v == "faithful" and (m, h, inner) in HL_STRUCTURE else "-"
        for m, v, h, inner, _ in out.index]
    return out.rename(index=label, level="model").round(3)


def hl_figure(df: pd.DataFrame) -> Figure:
    """L10 character accuracy against the (H, L) split, one panel per nested rung; solid
    faithful, dashed with `state_norm`; the authors' runs (at other settings) as diamonds."""
    models = present(df, "model", model_names()) if len(df) else []
    fig, axes = panels([label(m) for m in models], width=4.0, height=3.2)
    splits = sorted({(h, inner) for h, inner in zip(df.get("H", []), df.get("L", []))})
    names = [f"{h}x{inner}" for h, inner in splits]
    for ax, model in zip(axes, models):
        for variant, ls in VARIANT_STYLE.items():
            g = df[(df["model"] == model) & (df["variant"] == variant)]
            means = g.groupby(["H", "L"])["char_acc"].mean()
            xs = [i for i, s in enumerate(splits) if s in means.index]
            ax.plot(xs, [means[splits[i]] for i in xs], "o" + ls, color=colour(model),
                    label=label(model))
        theirs = [(i, np.mean([x.value for x in HL_STRUCTURE[(model, *s)]]))
                  for i, s in enumerate(splits) if (model, *s) in HL_STRUCTURE]
        if theirs:
            ax.plot(*zip(*theirs), **PAPER_MARK)
        ax.set_xticks(range(len(names)), names)
    extra = [(Line2D([], [], color="grey", ls=ls), v) for v, ls in VARIANT_STYLE.items()]
    extra.append((Line2D([], [], **PAPER_MARK), "authors' runs (other settings)"))
    return finish(fig, axes, "H x L (same budget)", "L10 char accuracy", extra=extra)


def budget_table(df: pd.DataFrame) -> pd.DataFrame:
    """Mean accuracies and realised passes per rung and budget."""
    if df.empty:
        return pd.DataFrame({"": ["no run stored"]}).set_index("")
    keys = ["model", "budget", "N"]
    out = df.groupby(keys, sort=False)[["passes", *METRICS]].mean()
    out["seeds"] = df.groupby(keys, sort=False)["seed"].nunique()
    out = out.reset_index()
    out["model"] = out["model"].map(label)
    return out.set_index(["model", "budget"]).round(3)


def budget_figure(df: pd.DataFrame, metric: str = "char_acc") -> Figure:
    """Accuracy against the block-pass budget (log scale), one line per rung."""
    fig, axes = panels(["weight-tied rungs"], width=5.0, height=3.4)
    ax = axes[0]
    for model in present(df, "model", model_names()) if len(df) else []:
        means = df[df["model"] == model].groupby("budget")[metric].mean()
        ax.plot(means.index, means.values, "o-", color=colour(model), label=label(model))
    ax.set_xscale("log", base=2)
    budgets = sorted(set(df["budget"])) if len(df) else []
    ax.set_xticks(budgets, [str(b) for b in budgets])
    return finish(fig, axes, "block passes per forward (budget)",
                  f"L10 {metric.replace('_', ' ')}")


MARKERS = ("o", "s", "^", "D", "v", "P")  # one per budget in the budget figures
PLATEAU_EXIT = round(plateau_top(TASK), 2)  # L10 char accuracy from which a run left the plateau


def curves_frame(records: Iterable[Record], length: int) -> pd.DataFrame:
    """One row per run and evaluation round: model, budget, seed, step and the metrics at
    `length` (sampling)."""
    rows = [{"model": r["model"], "budget": r["config"]["arch"]["budget"], "seed": r["seed"],
             "step": h["step"], **{m: h["eval"][str(length)][m] for m in METRICS}}
            for r in records for h in r["history"] if str(length) in h["eval"]]
    return pd.DataFrame(rows, columns=["model", "budget", "seed", "step", *METRICS])


def budget_curves_figure(curves: pd.DataFrame, metric: str = "char_acc") -> Figure:
    """`metric` against the training step, one panel per rung, one line per budget (each
    budget its own colour and marker; mean over seeds)."""
    models = present(curves, "model", model_names())
    budgets = sorted(set(curves["budget"])) if len(curves) else []
    palette = plt.get_cmap("viridis")
    look = {b: {"color": palette(0.9 * i / max(1, len(budgets) - 1)),
                "marker": MARKERS[i % len(MARKERS)]} for i, b in enumerate(budgets)}
    fig, axes = panels([label(m) for m in models], width=3.0, height=2.5, sharex=True,
                       columns=3)
    for ax, model in zip(axes, models):
        for b in budgets:
            mean = curves[(curves["model"] == model) & (curves["budget"] == b)].groupby(
                "step")[metric].mean()
            ax.plot(mean.index, mean.values, lw=1.4, ms=4, markevery=max(1, len(mean) // 6),
                    label="_budget", **look[b])
    extra = [(Line2D([], [], **look[b]), f"{b} passes") for b in budgets]
    return finish(fig, axes, "training step", f"L10 {metric.replace('_', ' ')}", extra=extra,
                  legend="figure")


def plateau_exits(curves: pd.DataFrame, threshold: float = PLATEAU_EXIT) -> pd.DataFrame:
    """Per rung and budget, the first evaluated step at which the mean L10 character accuracy
    passes `threshold` (NaN: never, within the run's steps)."""
    mean = curves.groupby(["model", "budget", "step"])["char_acc"].mean().reset_index()
    rows = []
    for (model, budget), g in mean.groupby(["model", "budget"], sort=False):
        past = g[g["char_acc"] > threshold]
        rows.append({"model": model, "budget": budget, "steps": int(g["step"].max()),
                     "exit": float(past["step"].iloc[0]) if len(past) else float("nan")})
    return pd.DataFrame(rows, columns=["model", "budget", "steps", "exit"])


def plateau_text(curves: pd.DataFrame, threshold: float = PLATEAU_EXIT) -> str:
    """Which budgets let each rung leave the plateau, and when: "Universal Transformer at
    every budget (steps 1,900 to 3,300); Iterative Transformer at 6 only (step 2,700); ..."."""
    exits = plateau_exits(curves, threshold)
    if exits.empty:
        return "not run yet"
    parts = []
    for model in present(exits, "model", model_names()):
        g = exits[exits["model"] == model].sort_values("budget")
        left = g.dropna(subset=["exit"])
        if left.empty:
            where = f"at no budget (in {int(g['steps'].max()):,} steps)"
        else:
            which = ("every budget" if len(left) == len(g) else
                     ", ".join(str(b) for b in left["budget"]) + " only")
            lo, hi = int(left["exit"].min()), int(left["exit"].max())
            when = f"step {lo:,}" if lo == hi else f"steps {lo:,} to {hi:,}"
            where = f"at {which} ({when})"
        parts.append(f"{label(model)} {where}")
    return "; ".join(parts)


def best_budget_text(df: pd.DataFrame) -> str:
    """The budget at which each rung did best: "Dual UT at 24 (0.79), ..."."""
    if df.empty:
        return "not run yet"
    means = df.groupby(["model", "budget"])["char_acc"].mean()
    return ", ".join(f"{label(m)} at {b} ({acc:.2f})" for m in present(df, "model",
                                                                         model_names())
                     for (_, b), acc in [max(means[m:m].items(), key=lambda kv: kv[1])])


def coverage_text(stored: int, planned: int, experiment: str) -> str:
    """What share of an analysis' grid is stored, and how to train the rest."""
    if stored == planned:
        return f"All {planned} runs of the grid are stored."
    return (f"**This edition stores {stored} of the {planned} runs of the grid**: the CPU time "
            "of this edition ran out before the rest (the missing runs are named above). The "
            "table and figure show the stored runs only, so the takeaways below are partial; "
            f"`python -m artrm grid --profile cpu --experiment {experiment}` trains the rest, "
            "resuming where it stopped.")


# -- what the 1x1 split changes ------------------------------------------------------------
SETTINGS = {  # (budget, H, L, grad_cycles) of the Dual Nested UT -> its name in the chapter
    (24, 1, 1, 1): "1x1",
    (24, 2, 2, 1): "2x2 (the authors' rule)",
    (24, 2, 2, 2): "2x2, gradient through both cycles",
    (24, 1, 2, 1): "1x2",
    (24, 1, 5, 1): "1x5",
    (8, 1, 1, 1): "1x1 at budget 8 (the authors' H-L grid)",
}
REFERENCES = ("1x1", "2x2 (the authors' rule)")  # the faithful splits tested against


def greedy_acc(record: Record, length: int, metric: str = "char_acc") -> float:
    """The record's stored greedy evaluation at `length` (NaN when it has none)."""
    metrics = stored_evaluation(record, "greedy") or {}
    return metrics[str(length)][metric] if str(length) in metrics else float("nan")


def mechanism_frame(records: Iterable[Record], length: int) -> pd.DataFrame:
    """`frame` of the faithful Dual Nested UT runs of SETTINGS, with each run's setting, its
    gradient cycles, its greedy accuracy and its sampled accuracy at step 2,000."""
    records = [r for r in records if r["model"] == "ut_level2"
               and not r["config"]["arch"]["state_norm"]]
    df = frame(records, length)
    df["grad_cycles"] = [r["config"]["arch"]["grad_cycles"] for r in records]
    df["setting"] = [SETTINGS.get((b, h, inner, g)) for b, h, inner, g in
                     zip(df["budget"], df["H"], df["L"], df["grad_cycles"])]
    df["greedy"] = [greedy_acc(r, length) for r in records]
    df["at 2,000"] = [accuracy_at(r, 2000, length) for r in records]
    return df[df["setting"].notna()].reset_index(drop=True)


def accuracy_at(record: Record, step: int, length: int) -> float:
    """The record's sampled character accuracy at `length` in its evaluation round at `step`
    (NaN when it has none: the run is shorter, or that round did not evaluate `length`)."""
    return next((h["eval"][str(length)]["char_acc"] for h in record["history"]
                 if h["step"] == step and str(length) in h["eval"]), float("nan"))


def loss_at(record: Record, step: int) -> float:
    """The record's training loss at `step`, averaged as logged (NaN when it has no such round)."""
    return next((h["train_loss"] for h in record["history"] if h["step"] == step), float("nan"))


def _per_seed(values: pd.Series) -> str:
    return ", ".join("-" if np.isnan(v) else f"{100 * v:.0f}" for v in values)


def mechanism_table(m: pd.DataFrame) -> pd.DataFrame:
    """One row per setting: its budget, split, ACT steps and passes with gradient; the seeds
    that left the plateau, with their exact interval; L10 character accuracy per seed
    (sampled, greedy, and sampled at step 2,000), in percent."""
    rows = []
    for setting in [s for s in SETTINGS.values() if (m["setting"] == s).any()]:
        g = m[m["setting"] == setting].sort_values("seed")
        k, n = learned_count(g["char_acc"], PLATEAU_EXIT)
        lo, hi = proportion_interval(k, n)
        first = g.iloc[0]
        rows.append({"setting": setting, "budget": int(first["budget"]),
                     "N": int(first["N"]),
                     "passes with gradient": round(g["grad_passes"].mean(), 1),
                     "off the plateau": f"{k} of {n} [{100 * lo:.0f}, {100 * hi:.0f}]",
                     "seeds": ", ".join(str(s) for s in g["seed"]),
                     "sampled": _per_seed(g["char_acc"]), "greedy": _per_seed(g["greedy"]),
                     "sampled at step 2,000": _per_seed(g["at 2,000"])})
    return pd.DataFrame(rows).set_index("setting") if rows else NO_RUN


def mechanism_tests(m: pd.DataFrame) -> pd.DataFrame:
    """Every setting against each faithful split of REFERENCES, as one family (Holm): seeds
    off the plateau (Fisher's exact test) and the paired per-seed difference of sampled L10
    character accuracy (exact sign-flip test); `tables.comparisons` shows it."""
    rows = [{"setting": setting, "reference": ref,
             **compare(m, {"setting": setting}, {"setting": ref}, "sample", level=PLATEAU_EXIT)}
            for setting in SETTINGS.values() if setting not in REFERENCES
            and (m["setting"] == setting).any() for ref in REFERENCES
            if (m["setting"] == ref).any()]
    return with_verdicts(rows, ["setting", "reference"])


def traced_frame(records: Iterable[Record]) -> pd.DataFrame:
    """One row per faithful run of SETTINGS that has both traces of its trained weights
    (`gradient_trace`, `state_trace`, computed from its checkpoint), in SETTINGS order: per ACT
    step, the mean halting probability and the mean weight of its state in the ACT readout
    (evaluation problems, every step run) and the fraction of the loss gradient's norm that
    reaches its passes (one training forward and backward); the passes it reaches at all."""
    rows = []
    for r in records:
        grads, states = r.get("gradient_trace"), r.get("state_trace")
        a = r["config"]["arch"]
        setting = SETTINGS.get((a["budget"], a["n_outer"], a["n_inner"], a["grad_cycles"]))
        if grads is None or states is None or setting is None or a["state_norm"]:
            continue
        per = a["n_outer"] * (a["n_inner"] + 1)  # block passes per ACT step
        norms = np.asarray(grads["grad_norm"])
        steps = np.add.reduceat(norms, np.arange(0, len(norms), per))
        rows.append({"setting": setting, "seed": r["seed"], "halt_p": states["halt_p"],
                     "act_weight": states.get("act_weight", []),
                     "gradient": (steps / steps.sum() if steps.sum() else steps).tolist(),
                     "reached": int((norms > 0).sum())})
    order = {s: i for i, s in enumerate(SETTINGS.values())}
    df = pd.DataFrame(rows, columns=["setting", "seed", "halt_p", "act_weight", "gradient",
                                     "reached"])
    return df.sort_values(["setting", "seed"], key=lambda c: c.map(order)
                          if c.name == "setting" else c).reset_index(drop=True)


def gradient_table(traced: pd.DataFrame) -> pd.DataFrame:
    """`traced_frame` for reading: the lists per ACT step as text, in percent but for the
    halting probabilities."""
    if traced.empty:
        return NO_RUN

    def listed(values: list[float], scale: float, digits: int) -> str:
        return ", ".join(f"{scale * v:.{digits}f}" for v in values)

    return pd.DataFrame({
        "setting": traced["setting"], "seed": traced["seed"],
        "halting probability": [listed(v, 1, 2) for v in traced["halt_p"]],
        "readout weight (%)": [listed(v, 100, 0) for v in traced["act_weight"]],
        "gradient (%)": [listed(v, 100, 0) for v in traced["gradient"]],
        "passes reached": traced["reached"]}).set_index(["setting", "seed"])
