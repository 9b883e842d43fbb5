"""The seven rungs of the ladder: names, display names, groups and colours.

This is the single source of every model's identity across the package, the notebooks and
the book (one display name and one colour per model everywhere).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rung:
    """One model of the ladder and how the book shows it."""

    name: str  # registry key, as in the authors' `--model`
    display: str  # the paper's name
    short: str  # a compact label for tables and legends
    group: str  # the paper's grouping
    colour: str  # hex colour, used by every plot
    change: str  # what this rung changes versus the previous one


LADDER: tuple[Rung, ...] = (
    Rung("gpt", "Dense Transformer", "Dense", "Non-recursive", "#1f3a93",
         "N distinct blocks: the standard decoder-only Transformer"),
    Rung("gpt_level1", "Iterative Transformer", "Iterative", "Single stream", "#5dade2",
         "one shared block applied N times (weight tying)"),
    Rung("gpt_level2", "Iterative Step Transformer", "Iter. Step", "Single stream", "#17a589",
         "a learned step embedding added before every application"),
    Rung("ut", "Universal Transformer", "UT", "Single stream", "#7d3c98",
         "per-token Graves ACT: halting head, weighted readout, early exit"),
    Rung("ut_level1", "Dual UT", "Dual UT", "Dual stream", "#e67e22",
         "two streams: reasoning z sees the input, answer y does not"),
    Rung("ut_level2", "Dual Nested UT", "Dual Nested", "Dual stream", "#c0392b",
         "nested H x L cycles per ACT step, gradient only through the last cycle"),
    Rung("trm", "Autoregressive TRM", "AR-TRM", "Dual stream", "#424949",
         "ACT replaced by a per-sequence Q-halt head and a terminal readout"),
)

MODEL_NAMES: tuple[str, ...] = tuple(r.name for r in LADDER)
RUNGS: dict[str, Rung] = {r.name: r for r in LADDER}


def rung(name: str) -> Rung:
    """The rung called `name`."""
    from artrm.errors import check_choice

    check_choice("model", name, MODEL_NAMES)
    return RUNGS[name]
