"""The book's figures. Every rung has one colour and one name everywhere (its class facts).

Every figure is a row of panels (one per task, or one per group of rungs) built by `panels`
and finished by `finish`. Our runs at the chapter's profile are solid, at the paper's scale
dashed (bars: hatched); the paper's own values are black diamonds (markers), crosses
(quartiles) or dotted lines (curves). A figure with nothing stored says so in its panel.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import AutoLocator, MaxNLocator

from artrm.book.paper import (
    ADDITION_DYNAMICS,
    ADDITION_QUARTILES,
    CHANCE,
    L10_CHAR_ACC,
    LAST_CHAR_BREAKTHROUGH,
)
from artrm.book.report import (
    PAPER_SCALE,
    Runs,
    at_train_len,
    by_scale,
    scale_label,
)
from artrm.book.statistics import mean_range
from artrm.data.tasks import task_names
from artrm.models.ladder import RUNGS, model_names, rung

LEGEND_SIZE = 8  # points, before `legible` raises it for a wide figure
PRINT_WIDTH = 7.2  # inches: the text column of the printed book (A4 less 13 mm margins)
PRINT_MIN_PT = 8  # the smallest type of a figure as printed at that column
MARKERS = ("o", "s", "^", "D", "v", "P", "X")  # one per rung where colours alone are close
VARIANT_STYLE = {"faithful": "-", "state_norm": "--"}  # the line of each state variant
PAPER_MARK = dict(marker="D", color="black", markersize=5, linestyle="none", zorder=5)
QUARTERS = ["pos_q1_acc", "pos_q2_acc", "pos_q3_acc", "pos_q4_acc"]

plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "axes.spines.top": False,
                     "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
                     "font.size": 10, "legend.frameon": False})


def printed_width(fig: Figure) -> float:
    """The width in inches of `fig` as saved (its tight bounding box, as the notebooks save
    figures)."""
    fig.canvas.draw()
    return fig.get_tightbbox().width


def smallest_printed_pt(fig: Figure) -> float:
    """The size in points of `fig`'s smallest text once the printed book scales the figure
    down to its text column (figures are never scaled up)."""
    scale = min(1.0, PRINT_WIDTH / printed_width(fig))
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]
    return scale * min(sizes, default=PRINT_MIN_PT)


def legible(fig: Figure) -> Figure:
    """Raise every text of `fig` that would print smaller than PRINT_MIN_PT (a wide figure is
    scaled down to the text column) to that size, and lay the figure out again; the width
    grows with the type, so it is measured again until it settles."""
    for _ in range(4):
        need = PRINT_MIN_PT * max(1.0, printed_width(fig) / PRINT_WIDTH) + 0.05
        small = [t for t in fig.findobj(Text)
                 if t.get_visible() and t.get_text() and t.get_fontsize() < need - 0.05]
        if not small:
            break
        for text in small:
            text.set_fontsize(need)
        for ax in fig.axes:  # fewer ticks, so that the larger numbers do not collide
            if isinstance(ax.xaxis.get_major_locator(), AutoLocator):
                ax.xaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
        if not fig.legends:  # a figure legend keeps the space its figure made for it
            fig.tight_layout()
    return fig


def glue_figure(name: str, fig: Figure) -> None:
    """Glue `fig` (made legible in print) for a `{glue:figure}` directive and close it, so
    that the cell itself shows nothing (an open figure would be drawn a second time,
    uncaptioned, under the cell)."""
    from myst_nb import glue

    glue(name, legible(fig), display=False)
    plt.close(fig)


def colour(model: str) -> str:
    return rung(model).colour


def label(model: str) -> str:
    return rung(model).display


def groups() -> list[str]:
    """The rungs' groups in ladder order (the paper's panels)."""
    return list(dict.fromkeys(cls.group for cls in RUNGS.values()))


def style(scale: str) -> str:
    return "--" if scale == PAPER_SCALE else "-"


def present(df: pd.DataFrame, column: str, order: Iterable[str]) -> list[str]:
    """The values of `order` that occur in `df[column]`, in that order."""
    have = set(df[column].astype(str)) if len(df) else set()
    return [x for x in order if x in have]


def _metric(name: str) -> str:
    return name.replace("_acc", " accuracy").replace("_", " ")


# -- the scaffold -----------------------------------------------------------------------------
def panels(titles: Sequence[str], width: float = 3.2, height: float = 2.8,
           sharey: bool = True, sharex: bool = False, columns: int | None = None
           ) -> tuple[Figure, list[Axes]]:
    """A figure with one panel per title, side by side, in rows of `columns` panels when given
    (one empty panel for no titles)."""
    n = max(1, len(titles))
    cols = min(n, columns or n)
    rows = -(-n // cols)
    fig, grid = plt.subplots(rows, cols, figsize=(width * cols + 0.8, height * rows),
                             sharey=sharey, sharex=sharex, squeeze=False)
    axes = list(grid.flat)
    for ax in axes[n:]:
        ax.remove()
    for ax, title in zip(axes, titles):
        ax.set_title(title)
    return fig, axes[:n]


def finish(fig: Figure, axes: list[Axes], xlabel: str, ylabel: str, scales: Iterable[str] = (),
           extra: Sequence[tuple[Artist, str]] = (), legend: str | None = "last",
           chance: str | None = "h", limit: bool = True, bars: bool = False) -> Figure:
    """Labels, the chance level, accuracy limits and the legend: the rungs, the style of each
    scale (when there are several, or only the paper's) and `extra` entries, on the last
    panel, on the figure (`legend="figure"`) or with each panel's rungs on it ("each"); a
    figure with nothing drawn says that no run is stored."""
    drawn = any(ax.lines or ax.patches for ax in axes)
    for ax in axes:
        ax.set_xlabel(xlabel)
        if chance:
            (ax.axhline if chance == "h" else ax.axvline)(CHANCE, color="grey", lw=1, ls=":",
                                                          zorder=0)
        if limit:
            (ax.set_ylim if chance != "v" else ax.set_xlim)(0, 1.05)
    for ax in axes:
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel(ylabel)
    if not drawn:
        axes[0].text(0.5, 0.5, "no run stored", transform=axes[0].transAxes, ha="center",
                     color="grey")
    elif legend:
        handles, labels = [], []
        scales = list(dict.fromkeys(scales))
        if len(scales) > 1 or scales == [PAPER_SCALE]:
            handles += [_scale_handle(s, bars) for s in scales]
            labels += [f"ours, {scale_label(s)}" for s in scales]
        handles += [h for h, _ in extra]
        labels += [lab for _, lab in extra]
        if legend == "each":  # every panel lists its rungs; the last adds the styles
            for ax in axes:
                own = legend_entries([ax])
                if own[0] or ax is axes[-1]:
                    ax.legend(own[0] + (handles if ax is axes[-1] else []),
                              own[1] + (labels if ax is axes[-1] else []), fontsize=LEGEND_SIZE)
        else:
            rungs = legend_entries(axes)
            fig.tight_layout()
            if legend == "figure":  # below the panels, outside the data
                fig.legend(rungs[0] + handles, rungs[1] + labels, fontsize=LEGEND_SIZE,
                           loc="upper center", bbox_to_anchor=(0.5, 0.0),
                           ncol=min(4, len(labels) + len(rungs[1])))
            else:  # right of the last panel, outside the data
                axes[-1].legend(rungs[0] + handles, rungs[1] + labels, fontsize=LEGEND_SIZE,
                                loc="upper left", bbox_to_anchor=(1.02, 1.0))
            return legible(fig)
    fig.tight_layout()
    return legible(fig)


def _scale_handle(scale: str, bars: bool) -> Artist:
    if bars:
        return Patch(facecolor="grey", hatch="///" if scale == PAPER_SCALE else None,
                     alpha=0.6 if scale == PAPER_SCALE else 1.0)
    return Line2D([], [], color="grey", ls=style(scale))


def legend_entries(axes: Iterable[Axes]) -> tuple[list, list]:
    seen: dict[str, object] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if not lab.startswith("_"):
                seen.setdefault(lab, h)
    return list(seen.values()), list(seen)


def _means(ax: Axes, df: pd.DataFrame, x: str, y: str, model: str, scale: str,
           **kwargs: object) -> None:
    """The mean of `y` over seeds against `x`: one line in the rung's colour and the scale's
    style."""
    curve = df.groupby(x)[y].mean()
    ax.plot(curve.index, curve.values, color=colour(model), ls=style(scale), label=label(model),
            **kwargs)


def _each(df: pd.DataFrame, models: Iterable[str] | None = None
          ) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """(model, scale, rows) for every rung and scale present in `df`."""
    for model in present(df, "model", models or model_names()):
        for scale in present(df, "scale", df["scale"].cat.categories):
            rows = df[(df["model"] == model) & (df["scale"] == scale)]
            if len(rows):
                yield model, scale, rows


# -- the figures ----------------------------------------------------------------------------
def accuracy_bars(final: pd.DataFrame, models: Iterable[str] | None = None,
                  metric: str = "char_acc") -> Figure:
    """Accuracy at the training length per rung, one panel per task: bars are our means over
    seeds at each scale (with the range over seeds), diamonds the paper's values."""
    df = at_train_len(final[final["variant"] == "faithful"])
    tasks = present(df, "task", task_names())
    shown = present(df, "model", models or model_names())
    scales = present(df, "scale", df["scale"].cat.categories)
    fig, axes = panels(tasks, width=3.2, height=0.45 * max(1, len(shown)) * len(scales) + 1.2)
    height = 0.8 / max(1, len(scales))
    for ax, task in zip(axes, tasks):
        for i, m in enumerate(shown):
            for j, scale in enumerate(scales):
                values = df[(df["task"] == task) & (df["model"] == m)
                            & (df["scale"] == scale)][metric]
                if values.empty:
                    continue
                mean, lo, hi = mean_range(values)
                y = i - 0.4 + height * (j + 0.5)
                ax.barh(y, mean, height=height * 0.9, color=colour(m),
                        hatch="///" if scale == PAPER_SCALE else None,
                        alpha=0.6 if scale == PAPER_SCALE else 1.0,
                        xerr=[[mean - lo], [hi - mean]] if len(values) > 1 else None,
                        capsize=2)
                inside = mean > 0.3  # the value at the bar's end, inside it when it fits
                ax.text(mean - 0.02 if inside else mean + 0.02, y, f"{100 * mean:.0f}%",
                        va="center", ha="right" if inside else "left", fontsize=LEGEND_SIZE,
                        color="white" if inside else "black")
            ref = L10_CHAR_ACC.get((m, task))
            if ref is not None and metric == "char_acc":
                ax.plot(ref.value, i - 0.45, **PAPER_MARK, label="the paper")  # above the bars
        ax.set_yticks(range(len(shown)), [label(m) for m in shown])
        ax.set_ylim(len(shown) - 0.5, -0.5)
    return finish(fig, axes, f"{_metric(metric)} at the training length", "", scales,
                  legend="figure", chance="v", bars=True)


def paper_against_ours(final: pd.DataFrame, metric: str = "char_acc") -> Figure:
    """Every rung on every task at the training length, one panel per task: each of our seeds
    a small dot, their mean a large one with the range over seeds, in the rung's colour; the
    paper's value (one seed) a black diamond where it reports one."""
    df = at_train_len(final[final["variant"] == "faithful"])
    tasks = present(df, "task", task_names())
    shown = list(model_names())
    fig, axes = panels(tasks, width=2.6, height=0.32 * len(shown) + 1.0)
    for ax, task in zip(axes, tasks):
        for i, m in enumerate(shown):
            values = df[(df["task"] == task) & (df["model"] == m)][metric]
            y = len(shown) - 1 - i  # the ladder from the top
            if len(values):
                mean, lo, hi = mean_range(values)
                ax.plot([lo, hi], [y, y], color=colour(m), lw=1.5, zorder=2)
                ax.plot(values, [y] * len(values), "o", color=colour(m), ms=3, alpha=0.5,
                        zorder=3)
                ax.plot([mean], [y], "o", color=colour(m), ms=7, zorder=4,
                        label=f"{len(values)} seed" if len(values) == 1 else None)
                ax.text(1.08, y, f"{len(values)}", va="center", ha="left", fontsize=8,
                        color="grey", transform=ax.get_yaxis_transform())
            ref = L10_CHAR_ACC.get((m, task))
            if ref is not None:
                ax.plot([ref.value], [y], **{**PAPER_MARK, "markerfacecolor": "none"})
        ax.text(1.08, len(shown) - 0.4, "seeds", va="bottom", ha="left", fontsize=8,
                color="grey", transform=ax.get_yaxis_transform())
        ax.set_yticks(range(len(shown)), [rung(m).short for m in reversed(shown)])
        ax.set_xlim(0, 1.05)
        ax.axvline(CHANCE, color="grey", lw=1, ls=":", zorder=0)
        ax.set_xlabel(_metric(metric))
    handles = [Line2D([], [], marker="o", color="grey", ls="none", ms=7),
               Line2D([], [], marker="o", color="grey", ls="none", ms=3, alpha=0.5),
               Line2D([], [], **{**PAPER_MARK, "markerfacecolor": "none"})]
    fig.legend(handles, ["ours: mean over seeds (line: range)", "ours: one seed",
                         "the paper (one seed)"], loc="lower center", ncol=3, fontsize=9,
               bbox_to_anchor=(0.5, -0.02))
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return legible(fig)


def learning_curves(history: pd.DataFrame, metric: str = "char_acc", task: str = "addition"
                    ) -> Figure:
    """`metric` at the training length against the optimiser step, one panel per group of
    rungs, one line per rung and scale (mean over seeds), with the paper's curves (char
    accuracy on addition, dotted) or its breakthrough steps (last character, diamonds)."""
    df = at_train_len(history[(history["task"] == task) & (history["variant"] == "faithful")])
    fig, axes = panels(groups(), width=4.0, height=3.2, sharex=True)
    scales, extra = [], []
    for ax, group in zip(axes, groups()):
        for m, scale, rows in _each(df):
            if rung(m).group == group:
                _means(ax, rows, "step", metric, m, scale, lw=1.6)
                scales.append(scale)
        for m in [m for m in model_names() if rung(m).group == group and task == "addition"]:
            if metric == "char_acc" and m in ADDITION_DYNAMICS:
                steps, refs = zip(*ADDITION_DYNAMICS[m])
                ax.plot(steps, [r.value for r in refs], color=colour(m), ls=":", lw=1,
                        marker=".", label="_paper")
                extra = [(Line2D([], [], color="black", ls=":", marker="."), "the paper")]
            if metric == "last_char_acc" and LAST_CHAR_BREAKTHROUGH.get(m) is not None:
                ax.plot(LAST_CHAR_BREAKTHROUGH[m], 0.5, marker="D", color=colour(m),
                        markeredgecolor="black", linestyle="none", zorder=5, label="_paper")
                extra = [(Line2D([], [], marker="D", color="white", markeredgecolor="black"),
                          "the paper's breakthrough")]
    return finish(fig, axes, "training step", f"{task}: {_metric(metric)}", scales, extra,
                  legend="each")


def curves_by_task(history: pd.DataFrame, models: Iterable[str], metric: str = "char_acc"
                   ) -> Figure:
    """`metric` at the training length against the training step, one panel per task, one
    line per rung and scale (mean over seeds)."""
    df = at_train_len(history)
    tasks = present(df, "task", task_names())
    fig, axes = panels(tasks)
    scales = []
    for ax, task in zip(axes, tasks):
        for m, scale, rows in _each(df[df["task"] == task], models):
            _means(ax, rows, "step", metric, m, scale, lw=1.6)
            scales.append(scale)
    return finish(fig, axes, "training step", _metric(metric), scales)


def quartile_profile(final: pd.DataFrame, task: str = "addition") -> Figure:
    """Accuracy by output quartile at the training length (Q1 = the leading quarter of the
    answer), one panel per group of rungs; crosses are the paper's values (addition)."""
    df = at_train_len(final[(final["task"] == task) & (final["variant"] == "faithful")])
    fig, axes = panels(groups(), width=3.7, height=3.2)
    scales = []
    for ax, group in zip(axes, groups()):
        for m, scale, rows in _each(df):
            if rung(m).group == group:
                means = rows[QUARTERS].mean()
                ax.plot(range(1, 5), means.values, marker="o", ls=style(scale), color=colour(m),
                        label=label(m))
                scales.append(scale)
        for m in [m for m in model_names() if rung(m).group == group]:
            if task == "addition" and m in ADDITION_QUARTILES:
                ax.plot(range(1, 5), [r.value for r in ADDITION_QUARTILES[m]], "x:",
                        color=colour(m), lw=1, label="_paper")
        ax.set_xticks(range(1, 5), ["Q1", "Q2", "Q3", "Q4"])
    paper = [(Line2D([], [], color="black", ls=":", marker="x"), "the paper")] \
        if task == "addition" else []
    return finish(fig, axes, "quarter of the answer", f"{task}: accuracy", scales, paper,
                  legend="each")


def length_generalisation(final: pd.DataFrame, models: Iterable[str] | None = None,
                          metric: str = "char_acc") -> Figure:
    """Accuracy against evaluation length, one panel per task."""
    df = final[final["variant"] == "faithful"]
    tasks = present(df, "task", task_names())
    fig, axes = panels(tasks, height=3.2)
    scales = []
    for ax, task in zip(axes, tasks):
        for m, scale, rows in _each(df[df["task"] == task], models):
            _means(ax, rows, "length", metric, m, scale, marker="o", ms=4)
            scales.append(scale)
    return finish(fig, axes, "evaluation length", _metric(metric), scales)


def training_curves(runs: Runs, key: str = "loss", models: Iterable[str] | None = None,
                    smooth: int = 25) -> Figure:
    """A per-step training statistic (loss, realised passes, ...) per task, one line per run
    (moving average over `smooth` steps); for block passes, the nominal budget dotted."""
    _, pairs = by_scale(runs)
    pairs = [(s, r) for s, r in pairs if key in r["curves"]
             and (models is None or r["model"] in models)]
    tasks = [t for t in task_names() if any(r["task"] == t for _, r in pairs)]
    fig, axes = panels(tasks, height=2.8, sharey=False)
    for ax, task in zip(axes, tasks):
        for scale, r in [(s, r) for s, r in pairs if r["task"] == task]:
            y = np.asarray(r["curves"][key], dtype=float)
            if smooth > 1 and len(y) > smooth:
                y = np.convolve(y, np.ones(smooth) / smooth, mode="valid")
            ax.plot(np.arange(len(y)) + 1, y, color=colour(r["model"]), lw=1, ls=style(scale),
                    label=label(r["model"]))
            if key.startswith("passes"):
                ax.axhline(r["passes"]["nominal"], color="grey", lw=1, ls=":")
    return finish(fig, axes, "training step", key.replace("_", " "), [s for s, _ in pairs],
                  chance=None, limit=False)


def ladder_diagram() -> Figure:
    """The rungs as a staircase, each labelled with the one change it makes. The figure is as
    wide as a printed page's text (7 in), so its labels print at their size (9 pt)."""
    fig, ax = plt.subplots(figsize=(7, 3.4))
    step, box = 0.4, 2.0  # per rung to the right; the width of a box
    for i, r in enumerate(RUNGS.values()):
        x, y = i * step, i * 0.55
        ax.add_patch(plt.Rectangle((x, y), box, 0.5, color=r.colour, alpha=0.9))
        ax.text(x + box / 2, y + 0.25, r.short, ha="center", va="center", color="white",
                fontsize=9, weight="bold")
        ax.text(x + box + 0.08, y + 0.25, r.change, fontsize=9, va="center", ha="left")
    ax.set_xlim(-0.05, step * (len(RUNGS) - 1) + box + 7.6)
    ax.set_ylim(-0.1, 0.55 * len(RUNGS) + 0.05)
    ax.axis("off")
    fig.tight_layout(pad=0.2)
    return legible(fig)


def study_intervals(summary: pd.DataFrame, title: str = "L10 char accuracy") -> Figure:
    """Mean and range over seeds of every study variant, one panel per task (`summary`:
    `report.seed_summary`, with columns task, model, variant, mean, min, max, seeds)."""
    tasks = present(summary, "task", task_names())
    keys = summary[["model", "variant"]].drop_duplicates()
    keys = keys.sort_values("model", key=lambda m: m.map(model_names().index), kind="stable")
    rows = list(keys.itertuples(index=False))
    fig, axes = panels(tasks, width=3.3, height=0.3 * len(rows) + 1.2)
    for ax, task in zip(axes, tasks):
        for i, (model, variant) in enumerate(rows):
            hit = summary[(summary["task"] == task) & (summary["model"] == model)
                          & (summary["variant"] == variant)]
            if hit.empty:
                continue
            m, lo, hi, seeds = hit.iloc[0][["mean", "min", "max", "seeds"]]
            if seeds > 1:
                ax.plot([lo, hi], [i, i], color=colour(model), lw=2.5, alpha=0.6)
            ax.plot(m, i, "o", color=colour(model), ms=5)
        ax.set_yticks(range(len(rows)), [f"{rung(m).short}: {v}" for m, v in rows])
        ax.set_ylim(len(rows) - 0.5, -0.5)
    return finish(fig, axes, title, "", chance="v", legend=None)


def test_time_compute(sweep: pd.DataFrame, metric: str = "char_acc") -> Figure:
    """Accuracy against the loop steps used at evaluation (relative to the trained number),
    one panel per task, one line per rung and study variant (corrected: dashed)."""
    tasks = present(sweep, "task", task_names())
    fig, axes = panels(tasks, height=3.1)
    for ax, task in zip(axes, tasks):
        df = sweep[sweep["task"] == task]
        for (model, variant), g in df.groupby(["model", "variant"], observed=True, sort=False):
            g = g.groupby("ratio")[metric].mean()
            ax.plot(g.index, g.values, marker="o", ms=3, color=colour(model),
                    ls="-" if variant == "faithful" else "--",
                    label=label(model) + ("" if variant == "faithful" else f" ({variant})"))
        ax.axvline(1.0, color="grey", lw=1, ls="--")
        ax.set_xscale("log", base=2)
    return finish(fig, axes, "loop-step ratio",  # evaluated / trained; the caption says so
                  f"{_metric(metric)} (greedy)")
