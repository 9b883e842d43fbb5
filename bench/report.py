"""Derived numbers (fraction of peak, ratio to the reference, linear fits) and the tables."""

from __future__ import annotations

import statistics
from typing import Any

from bench.plan import REFERENCE_S_PER_STEP

Result = dict[str, Any]


def peak_mode(result: Result, device: str) -> str:
    """Which measured peak a run's matmuls are held against."""
    return "fp32" if device == "cpu" else result["precision"]


def enrich(result: Result, peaks: dict[str, float], device: str) -> None:
    """Add the fraction of the measured peak matmul rate and, at the paper configuration
    with block padding, the speed-up over the official code's step time."""
    result["peak_fraction"] = result["flop_rate"] / peaks[peak_mode(result, device)]
    config = result["label"].split("/")[0]
    reference = REFERENCE_S_PER_STEP.get(result["model"])
    if config == "paper" and reference is not None:
        result["speedup_vs_reference"] = reference / result["s_per_step"]


def linear_fit(xs: list[float], ys: list[float]) -> dict[str, float]:
    """Least-squares y = intercept + slope x, with R^2."""
    slope, intercept = statistics.linear_regression(xs, ys)
    mean = statistics.fmean(ys)
    total = sum((y - mean) ** 2 for y in ys)
    resid = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys))
    return {"slope": slope, "intercept": intercept, "r2": 1 - resid / total if total else 1.0}


def scaling_summary(results: list[Result]) -> dict[str, dict[str, Any]]:
    """Per model and axis (budget, length): the points and a linear fit of s/step."""
    out: dict[str, dict[str, Any]] = {}
    for r in results:
        axis, value = r["label"].split("-")[1:]
        entry = out.setdefault(r["model"], {}).setdefault(axis, {"x": [], "s_per_step": []})
        entry["x"].append(int(value))
        entry["s_per_step"].append(r["s_per_step"])
    for axes in out.values():
        for entry in axes.values():
            if len(entry["x"]) >= 2:
                entry["fit"] = linear_fit(entry["x"], entry["s_per_step"])
    return out


def layout_summary(groups: list[list[Result]]) -> list[dict[str, Any]]:
    """Aggregate throughput of each layout (processes run at once)."""
    out = []
    for group in groups:
        first = group[0]
        out.append({"model": first["model"], "layout": first["label"].removeprefix("layout-"),
                    "processes": len(group), "threads": first["threads"],
                    "steps_per_s": sum(1 / r["s_per_step"] for r in group),
                    "tokens_per_s": sum(r["tokens_per_s"] for r in group),
                    "s_per_step": [r["s_per_step"] for r in group]})
    return out


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def train_table(results: list[Result]) -> str:
    rows = [[r["model"], r["label"], f"{r['s_per_step']:.3f}", f"{r['tokens_per_s']:,.0f}",
             f"{r['passes_forward']:.0f}/{r['passes_backward']:.0f}",
             f"{r['flops']['total'] / 1e9:,.1f}", f"{100 * r['peak_fraction']:.1f}",
             f"{r['memory_mib']['peak']:,.0f}",
             f"{r['speedup_vs_reference']:.2f}x" if "speedup_vs_reference" in r else ""]
            for r in results]
    return _table(["model", "config", "s/step", "tok/s", "passes f/b", "GFLOP/step",
                   "% peak", "peak MiB", "vs ref"], rows)


def eval_table(results: list[Result]) -> str:
    rows = []
    for r in results:
        if "eval" in r:
            e = r["eval"]
            rows.append([r["model"], r["label"], str(e["length"]), str(e["problems"])]
                        + [f"{e[k]['problems_per_s']:,.1f}"
                           for k in ("sample", "greedy_all_wrong", "one_pass")])
    return _table(["model", "config", "L", "problems", "sample/s", "greedy (all wrong)/s",
                   "one pass/s"], rows) if rows else ""


def scaling_table(summary: dict[str, dict[str, Any]]) -> str:
    rows = []
    for model, axes in summary.items():
        for axis, entry in axes.items():
            fit = entry.get("fit")
            points = " ".join(f"{x}:{s:.3f}" for x, s in zip(entry["x"], entry["s_per_step"]))
            rows.append([model, axis, points,
                         f"{fit['slope']:.4f}" if fit else "", f"{fit['r2']:.3f}" if fit else ""])
    return _table(["model", "axis", "value:s/step", "slope", "R^2"], rows) if rows else ""


def layout_table(layouts: list[dict[str, Any]]) -> str:
    rows = [[x["model"], x["layout"], f"{x['steps_per_s']:.3f}", f"{x['tokens_per_s']:,.0f}",
             " ".join(f"{s:.3f}" for s in x["s_per_step"])] for x in layouts]
    return _table(["model", "processes x threads", "steps/s (all)", "tok/s (all)",
                   "s/step each"], rows) if rows else ""
