"""Tables and figures of the state-growth chapter: traces of every block pass (see
`artrm.experiments.states`) as frames, the measured growth rate per pass next to the predicted
one, and the rms of the block input against the pass on a log scale."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from artrm.book.plots import (
    LEGEND_SIZE,
    MARKERS,
    VARIANT_STYLE,
    colour,
    finish,
    label,
    legend_entries,
    panels,
)
from artrm.book.statistics import LEARNED
from artrm.experiments.states import GOLDEN, growth_per_pass
from artrm.models.ladder import model_names, rung
from artrm.models.ut_level1 import DualUT

Trace = dict[str, Any]


def frame(traces: Mapping[tuple[str, str, str], Trace]) -> pd.DataFrame:
    """One row per block pass of every trace, keyed (when, model, variant)."""
    rows = []
    for (when, model, variant), t in traces.items():
        for k, (stream, out, inp) in enumerate(zip(t["stream"], t["rms"], t["input_rms"]), 1):
            rows.append({"when": when, "model": model, "variant": variant, "pass": k,
                         "stream": stream, "rms": out, "input_rms": inp, "x_rms": t["x_rms"]})
    return pd.DataFrame(rows)


def predicted(model: str, n_inner: int) -> str:
    """The growth per pass the recurrence predicts while the updates are small."""
    if not issubclass(rung(model), DualUT):
        return "linear"
    return f"{growth_per_pass(n_inner):.2f}"


def measured(input_rms: list[float]) -> float:
    """Geometric mean growth per pass over the second half of the passes."""
    half = input_rms[len(input_rms) // 2 - 1:]
    return (half[-1] / half[0]) ** (1 / (len(half) - 1))


def growth_table(df: pd.DataFrame, plans: Mapping[str, int]) -> pd.DataFrame:
    """Per trace: the input's rms at the first and last pass, the input embedding's, their
    ratio at the last pass, and the growth per pass, measured and predicted (`plans`: the
    rung's L, reasoning updates per cycle)."""
    rows = []
    for (when, model, variant), g in df.groupby(["when", "model", "variant"], sort=False):
        inputs = g.sort_values("pass")["input_rms"].tolist()
        rows.append({"": when, "model": label(model), "variant": variant,
                     "x rms": g["x_rms"].iloc[0], "input rms, pass 1": inputs[0],
                     "input rms, last pass": inputs[-1],
                     "x / input, last pass": g["x_rms"].iloc[0] / inputs[-1],
                     "growth per pass": measured(inputs),
                     "predicted": predicted(model, plans[model]) if variant == "faithful"
                     else "bounded"})
    if not rows:
        return pd.DataFrame({"": ["no trace stored"]}).set_index("")
    out = pd.DataFrame(rows).set_index(["", "model", "variant"])
    return out.map(lambda v: f"{v:.3g}" if isinstance(v, float) else v)


def figure(df: pd.DataFrame) -> Figure:
    """The rms of every pass's block input on a log scale, one panel per moment (at
    initialisation, after training); the input embedding x dotted, and a line growing by
    the golden ratio per pass for reference."""
    whens = list(dict.fromkeys(df["when"]))
    fig, axes = panels(whens, width=4.6, height=3.6)
    for ax, when in zip(axes, whens):
        part = df[df["when"] == when]
        for model in [m for m in model_names() if m in set(part["model"])]:
            for variant, ls in VARIANT_STYLE.items():
                g = part[(part["model"] == model) & (part["variant"] == variant)]
                if len(g):
                    ax.plot(g["pass"], g["input_rms"], color=colour(model), ls=ls,
                            marker=MARKERS[model_names().index(model) % len(MARKERS)], ms=4,
                            markevery=max(1, len(g) // 6), label=label(model))
        x = part["x_rms"].median()
        ax.axhline(x, color="grey", ls=":", lw=1)
        passes = np.arange(1, part["pass"].max() + 1)
        ax.plot(passes, x * GOLDEN ** passes, color="black", lw=0.8, alpha=0.4)
        ax.set_yscale("log")
    finish(fig, axes, "block pass", "rms of the block's input", legend=None, chance=None,
           limit=False)
    handles, labels = legend_entries(axes)
    extra = [(Line2D([], [], color="black", ls=ls), f"{v}") for v, ls in VARIANT_STYLE.items()]
    extra += [(Line2D([], [], color="grey", ls=":"), "input embedding x"),
              (Line2D([], [], color="black", alpha=0.4), "x times phi per pass")]
    axes[-1].legend(handles + [h for h, _ in extra], labels + [lab for _, lab in extra],
                    fontsize=LEGEND_SIZE, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    return fig


def halting_frame(traces: Mapping[tuple[str, str, str], Trace], first: int = 6
                  ) -> pd.DataFrame:
    """Mean halting probability at the first `first` loop steps and the last one, for every
    trace with a halting head."""
    rows = []
    for (when, model, variant), t in traces.items():
        p = t["halt_p"]
        if p:
            shown = {f"step {k}": x for k, x in enumerate(p[:first], 1)}
            rows.append({"": when, "model": label(model), "variant": variant, **shown,
                         f"last ({len(p)})": p[-1]})
    if not rows:
        return pd.DataFrame({"": ["no halting head traced"]}).set_index("")
    return pd.DataFrame(rows).set_index(["", "model", "variant"]).round(2)


def outcome_table(final: pd.DataFrame, threshold: float = LEARNED) -> pd.DataFrame:
    """Per model, variant and task: mean character accuracy over seeds and how many seeds
    learned the task ("0.94 (2/3)": at least `threshold`)."""
    def cell(x: pd.Series) -> str:
        return f"{x.mean():.2f} ({int((x >= threshold).sum())}/{len(x)})"

    return final.pivot_table(index=["model", "variant"], columns="task", values="char_acc",
                             aggfunc=cell, observed=True).fillna("-")


def ratio_text(df: pd.DataFrame, when: str, model: str) -> str:
    """'1 to N': the input embedding against the faithful rung's block input at its last pass."""
    g = df[(df["when"] == when) & (df["model"] == model) & (df["variant"] == "faithful")]
    if g.empty:
        return "not measured"
    last = g.sort_values("pass").iloc[-1]
    return f"1 to {last['input_rms'] / last['x_rms']:,.0f}"


def growth_text(df: pd.DataFrame, when: str, model: str) -> str:
    g = df[(df["when"] == when) & (df["model"] == model) & (df["variant"] == "faithful")]
    if g.empty:
        return "not measured"
    return f"{measured(g.sort_values('pass')['input_rms'].tolist()):.2f}"

