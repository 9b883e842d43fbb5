"""The scaling figure: step time against the block-pass budget and against the task length."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

AXES = {"budget": "block-pass budget B (L_train 10)", "length": "task length L (budget 24)"}


def scaling_figure(summary: dict[str, dict[str, Any]], title: str, path: Path) -> None:
    """Two panels, one line per model, with the linear fit dashed."""
    fig, panels = plt.subplots(1, 2, figsize=(10, 4))
    for panel, (axis, xlabel) in zip(panels, AXES.items()):
        for model, axes in summary.items():
            entry = axes.get(axis)
            if entry is None:
                continue
            line, = panel.plot(entry["x"], entry["s_per_step"], "o-", label=model)
            if "fit" in entry:
                fit = entry["fit"]
                xs = [min(entry["x"]), max(entry["x"])]
                panel.plot(xs, [fit["intercept"] + fit["slope"] * x for x in xs], "--",
                           color=line.get_color(), alpha=0.5)
        panel.set_xlabel(xlabel)
        panel.set_ylabel("seconds per training step")
        panel.set_ylim(bottom=0)
        panel.grid(alpha=0.3)
        panel.legend()
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
