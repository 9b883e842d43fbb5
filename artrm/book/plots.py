"""The book's figures. Every model has one colour and one name everywhere (artrm.ladder)."""

from __future__ import annotations

from collections.abc import Iterable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from artrm.registry import RUNGS, model_names, rung
from artrm.book.paper import ADDITION_DYNAMICS, ADDITION_QUARTILES, CHANCE, L10_CHAR_ACC
from artrm.book.report import bootstrap_mean
from artrm.data.tasks import task_names

GROUPS = ("Non-recursive", "Single stream", "Dual stream")
PAPER_MARK = dict(marker="D", color="black", markersize=6, linestyle="none", zorder=5)

plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "axes.spines.top": False,
                     "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
                     "font.size": 10, "legend.frameon": False})


def colour(model: str) -> str:
    return rung(model).colour


def label(model: str) -> str:
    return rung(model).display


def _present(df: pd.DataFrame, column: str, order: Iterable[str]) -> list[str]:
    have = set(df[column].astype(str)) if len(df) else set()
    return [x for x in order if x in have]


def _chance(ax: Axes, horizontal: bool = True) -> None:
    (ax.axhline if horizontal else ax.axvline)(CHANCE, color="grey", lw=1, ls=":", zorder=0)


def accuracy_bars(final: pd.DataFrame, length: int = 10, metric: str = "char_acc",
                  models: Iterable[str] | None = None, paper: bool = True) -> Figure:
    """Final accuracy per model, one panel per task; bars are our mean over seeds (with the
    95% bootstrap interval when there are several), diamonds the paper's values."""
    df = final[final["length"] == length]
    tasks = _present(df, "task", task_names())
    models = _present(df, "model", models or model_names())
    size = (3.2 * len(tasks) + 1.5, 0.42 * len(models) + 1)
    fig, axes = plt.subplots(1, len(tasks), figsize=size, sharey=True, squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for i, m in enumerate(models):
            values = df[(df["task"] == task) & (df["model"] == m)][metric]
            if values.empty:
                continue
            mean, lo, hi = bootstrap_mean(values)
            err = None if np.isnan(lo) else [[mean - lo], [hi - mean]]
            ax.barh(i, mean, color=colour(m), xerr=err, capsize=3, height=0.7)
            ax.text(min(mean + 0.02, 0.86), i, f"{100 * mean:.0f}%", va="center", fontsize=8)
            ref = L10_CHAR_ACC.get((m, task))
            if paper and ref is not None and length == 10 and metric == "char_acc":
                ax.plot(ref.value, i, **PAPER_MARK, label="paper" if i == 0 else None)
        _chance(ax, horizontal=False)
        ax.set_title(task)
        ax.set_xlim(0, 1.05)
        ax.set_xlabel(f"L{length} {metric.replace('_', ' ')}")
    axes[0][0].set_yticks(range(len(models)), [label(m) for m in models])
    axes[0][0].invert_yaxis()
    if paper:
        fig.legend(*_dedup(axes[0]), loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def _dedup(axes: Iterable[Axes]) -> tuple[list, list]:
    seen: dict[str, object] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    return list(seen.values()), list(seen)


def learning_curves(history: pd.DataFrame, metric: str = "char_acc", length: int = 10,
                    task: str = "addition", by_group: bool = True, paper: bool = False) -> Figure:
    """Accuracy at evaluation length `length` against the optimiser step, one line per model
    (mean over seeds), in the paper's three groups."""
    df = history[(history["length"] == length) & (history["task"] == task)]
    groups = GROUPS if by_group else ("all",)
    fig, axes = plt.subplots(1, len(groups), figsize=(4 * len(groups), 3.2), sharey=True,
                             squeeze=False)
    for ax, group in zip(axes[0], groups):
        for m in _present(df, "model", model_names()):
            if by_group and rung(m).group != group:
                continue
            curve = df[df["model"] == m].groupby("step")[metric].mean()
            ax.plot(curve.index, curve.values, color=colour(m), label=label(m), lw=1.8)
            if paper and metric == "char_acc" and m in ADDITION_DYNAMICS and task == "addition":
                steps, refs = zip(*ADDITION_DYNAMICS[m])
                ax.plot(steps, [r.value for r in refs], color=colour(m), ls="--", lw=1, alpha=0.7)
        _chance(ax)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("training step")
        ax.set_title(group if by_group else task)
        ax.legend(fontsize=8, loc="upper left")
    axes[0][0].set_ylabel(f"L{length} {metric.replace('_', ' ')}")
    fig.tight_layout()
    return fig


def curves_by_task(history: pd.DataFrame, models: Iterable[str], metric: str = "char_acc",
                   length: int = 10) -> Figure:
    """`metric` at evaluation length `length` against the training step, one panel per task,
    one line per model (mean over seeds)."""
    df = history[history["length"] == length]
    tasks = _present(df, "task", task_names())
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.6 * len(tasks), 3), sharey=True,
                             squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for m in _present(df, "model", models):
            curve = df[(df["task"] == task) & (df["model"] == m)].groupby("step")[metric].mean()
            ax.plot(curve.index, curve.values, color=colour(m), label=label(m), lw=1.8)
        _chance(ax)
        ax.set_ylim(0, 1.02)
        ax.set_title(task)
        ax.set_xlabel("training step")
    axes[0][0].set_ylabel(f"L{length} {metric.replace('_', ' ')}")
    axes[0][-1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def quartile_profile(final: pd.DataFrame, task: str = "addition", length: int = 10,
                     paper: bool = True) -> Figure:
    """Accuracy by output quartile (Q1 = the leading quarter of the answer)."""
    df = final[(final["length"] == length) & (final["task"] == task)]
    models = _present(df, "model", model_names())
    quarters = ["pos_q1_acc", "pos_q2_acc", "pos_q3_acc", "pos_q4_acc"]
    fig, axes = plt.subplots(1, len(GROUPS), figsize=(11, 3.2), sharey=True)
    for ax, group in zip(axes, GROUPS):
        for m in models:
            if rung(m).group != group:
                continue
            means = df[df["model"] == m][quarters].mean()
            ax.plot(range(1, 5), means.values, "o-", color=colour(m), label=label(m))
            if paper and task == "addition" and length == 10:
                ax.plot(range(1, 5), [r.value for r in ADDITION_QUARTILES[m]], "x--",
                        color=colour(m), alpha=0.6, lw=1)
        _chance(ax)
        ax.set_xticks(range(1, 5), ["Q1", "Q2", "Q3", "Q4"])
        ax.set_ylim(0, 1.05)
        ax.set_title(group)
        ax.legend(fontsize=8, loc="lower left")
    axes[0].set_ylabel(f"{task} L{length} accuracy")
    fig.tight_layout()
    return fig


def length_generalisation(final: pd.DataFrame, metric: str = "char_acc",
                          models: Iterable[str] | None = None) -> Figure:
    """Accuracy against evaluation length, one panel per task."""
    tasks = _present(final, "task", task_names())
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.6 * len(tasks), 3.2), sharey=True,
                             squeeze=False)
    for ax, task in zip(axes[0], tasks):
        df = final[final["task"] == task]
        for m in _present(df, "model", models or model_names()):
            curve = df[df["model"] == m].groupby("length")[metric].mean()
            ax.plot(curve.index, curve.values, "o-", color=colour(m), label=label(m), ms=4)
        _chance(ax)
        ax.set_title(task)
        ax.set_xlabel("evaluation length")
        ax.set_ylim(0, 1.05)
    axes[0][0].set_ylabel(metric.replace("_", " "))
    axes[0][-1].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


def training_curves(records: Iterable[dict], key: str = "loss", smooth: int = 25) -> Figure:
    """A per-step training statistic (loss, realised passes, ...) per task, one line per run."""
    records = list(records)
    tasks = [t for t in task_names() if any(r["task"] == t for r in records)]
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.6 * len(tasks), 2.8), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for r in records:
            if r["task"] != task or key not in r["curves"]:
                continue
            y = np.asarray(r["curves"][key], dtype=float)
            if smooth > 1 and len(y) > smooth:
                y = np.convolve(y, np.ones(smooth) / smooth, mode="valid")
            ax.plot(np.arange(len(y)) + 1, y, color=colour(r["model"]), lw=1,
                    label=label(r["model"]))
        ax.set_title(task)
        ax.set_xlabel("training step")
    axes[0][0].set_ylabel(key.replace("_", " "))
    handles, labels = _dedup(axes[0])
    axes[0][-1].legend(handles, labels, fontsize=7)
    fig.tight_layout()
    return fig


def ladder_diagram() -> Figure:
    """The seven rungs as a staircase, each labelled with the one change it makes."""
    fig, ax = plt.subplots(figsize=(10, 4.2))
    for i, r in enumerate(RUNGS.values()):
        x, y = i * 1.35, i * 0.55
        ax.add_patch(plt.Rectangle((x, y), 1.3, 0.5, color=r.colour, alpha=0.9))
        ax.text(x + 0.65, y + 0.25, r.short, ha="center", va="center", color="white",
                fontsize=8.5, weight="bold")
        ax.text(x + 1.36, y + 0.12, r.change, fontsize=7.5, va="bottom", ha="left")
    ax.set_xlim(-0.1, 14)
    ax.set_ylim(-0.1, 4.1)
    ax.axis("off")
    fig.tight_layout()
    return fig


def study_intervals(summary: pd.DataFrame, title: str = "") -> Figure:
    """Mean and 95% bootstrap interval over seeds of every study variant, one panel per task.
    `summary` has columns task, model, variant, mean, ci_low, ci_high."""
    tasks = _present(summary, "task", task_names())
    keys = summary[["model", "variant"]].drop_duplicates()
    keys = keys.sort_values("model", key=lambda m: m.map(model_names().index), kind="stable")
    rows = list(keys.itertuples(index=False))
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.3 * len(tasks) + 2, 0.3 * len(rows) + 1.2),
                             sharey=True, squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for i, (model, variant) in enumerate(rows):
            hit = summary[(summary["task"] == task) & (summary["model"] == model)
                          & (summary["variant"] == variant)]
            if hit.empty:
                continue
            m, lo, hi = hit.iloc[0][["mean", "ci_low", "ci_high"]]
            if not np.isnan(lo):
                ax.plot([lo, hi], [i, i], color=colour(model), lw=2.5, alpha=0.6)
            ax.plot(m, i, "o", color=colour(model), ms=5)
        _chance(ax, horizontal=False)
        ax.set_xlim(0, 1.05)
        ax.set_title(task)
        ax.set_xlabel(title or "L10 char accuracy")
    axes[0][0].set_yticks(range(len(rows)), [f"{rung(m).short}: {v}" for m, v in rows])
    axes[0][0].invert_yaxis()
    fig.tight_layout()
    return fig


def test_time_compute(sweep: pd.DataFrame, metric: str = "char_acc") -> Figure:
    """Accuracy against the loop steps used at evaluation (relative to the trained number),
    one panel per task, one line per model. `sweep` has columns task, model, steps,
    trained_steps and the metric."""
    tasks = _present(sweep, "task", task_names())
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.6 * len(tasks), 3.1), sharey=True,
                             squeeze=False)
    for ax, task in zip(axes[0], tasks):
        df = sweep[sweep["task"] == task]
        for (model, variant), g in df.groupby(["model", "variant"], observed=True, sort=False):
            g = g.groupby("ratio")[metric].mean()
            ax.plot(g.index, g.values, marker="o", ms=3, color=colour(model),
                    ls="-" if variant == "faithful" else "--",
                    label=label(model) + ("" if variant == "faithful" else f" ({variant})"))
        ax.axvline(1.0, color="grey", lw=1, ls="--")
        _chance(ax)
        ax.set_xscale("log", base=2)
        ax.set_ylim(0, 1.05)
        ax.set_title(task)
        ax.set_xlabel("loop steps at evaluation / trained steps")
    axes[0][0].set_ylabel(f"L10 {metric.replace('_', ' ')} (greedy)")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig
