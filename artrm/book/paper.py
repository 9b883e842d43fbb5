"""The paper's reported numbers, for comparison with ours.

Sources (see the book's reproducibility chapter): `table` values are printed in the authors'
notebooks (exact); `plot` values were read off their figures (about +-2 points for bars and
markers, +-3 for curves). All are from the camera-ready run: budget 24, L_train 10, 5000
steps, one seed (1337), sampling decode, the last evaluation (step 5000).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reported:
    value: float
    source: str  # "table" (printed, exact) or "plot" (read off a figure)

    @property
    def exact(self) -> bool:
        return self.source == "table"


def _t(v: float) -> Reported:
    return Reported(v, "table")


def _p(v: float) -> Reported:
    return Reported(v, "plot")


# L10 character accuracy, (model, task) -> value: Fig. 3 and the addition ladder
L10_CHAR_ACC: dict[tuple[str, str], Reported] = {
    ("gpt", "addition"): _t(0.799091), ("gpt", "copy"): _t(1.0), ("gpt", "reverse"): _t(1.0),
    ("gpt_level1", "addition"): _t(0.543636),
    ("gpt_level2", "addition"): _t(0.558182),
    ("ut", "addition"): _t(0.658182), ("ut", "copy"): _t(1.0), ("ut", "reverse"): _t(1.0),
    ("ut_level1", "addition"): _t(0.834545),
    ("ut_level2", "addition"): _p(0.14),
    ("trm", "addition"): _t(0.125), ("trm", "copy"): _t(0.110), ("trm", "reverse"): _t(0.100),
}

# L10 sequence accuracy on addition
L10_SEQ_ACC_ADDITION: dict[str, Reported] = {
    "gpt": _t(0.02), "gpt_level1": _t(0.0), "gpt_level2": _t(0.0), "ut": _t(0.0),
    "ut_level1": _t(0.03), "ut_level2": _p(0.0), "trm": _p(0.0),
}

# addition character accuracy beyond the training length, model -> {length: value}
ADDITION_LONG_CHAR_ACC: dict[str, dict[int, Reported]] = {
    "gpt": {30: _t(0.103548), 40: _t(0.096098), 50: _t(0.104510)},
    "gpt_level1": {30: _t(0.103226), 40: _t(0.099756), 50: _t(0.101176)},
    "gpt_level2": {30: _t(0.107742), 40: _t(0.114146), 50: _t(0.109804)},
    "ut": {30: _t(0.121290), 40: _t(0.114390), 50: _t(0.104510)},
    "ut_level1": {30: _t(0.105161), 40: _t(0.104634), 50: _t(0.112353)},
}

# addition L10 accuracy by output quartile (Q1..Q4), read off the figure
ADDITION_QUARTILES: dict[str, tuple[Reported, ...]] = {
    "gpt": (_p(0.97), _p(0.64), _p(0.68), _p(0.96)),
    "gpt_level1": (_p(1.00), _p(0.93), _p(0.29), _p(0.10)),
    "gpt_level2": (_p(0.99), _p(0.64), _p(0.38), _p(0.37)),
    "ut": (_p(0.99), _p(1.00), _p(0.65), _p(0.10)),
    "ut_level1": (_p(0.97), _p(0.97), _p(0.74), _p(0.70)),
    "ut_level2": (_p(0.34), _p(0.11), _p(0.10), _p(0.08)),
    "trm": (_p(0.29), _p(0.11), _p(0.06), _p(0.10)),
}

# addition L10 char accuracy during training, read off the learning-dynamics figure; the
# figure's x axis is the logging row x 40, so the optimiser step is about 0.89 x that
_PLOTTED_STEPS = (500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500, 5000)
_DYNAMICS = {
    "gpt": (.20, .22, .24, .25, .30, .39, .51, .62, .76, .79),
    "gpt_level1": (.21, .24, .25, .30, .45, .47, .49, .50, None, .53),
    "gpt_level2": (.19, .22, .23, .26, .33, .39, .42, .46, .51, .55),
    "ut": (.23, .26, .32, .38, .42, .49, .52, .58, .60, .64),
    "ut_level1": (.24, .28, .55, .76, .81, .80, .82, .82, .84, .82),
    "ut_level2": (.16, .13, None, .14, .13, .13, .14, .14, .14, .12),
    "trm": (.14, .15, .13, .16, .15, .14, .12, .13, .13, .13),
}
STEP_SCALE = 5000 / 5600
ADDITION_DYNAMICS: dict[str, list[tuple[float, Reported]]] = {
    model: [(round(s * STEP_SCALE), _p(v)) for s, v in zip(_PLOTTED_STEPS, values) if v is not None]
    for model, values in _DYNAMICS.items()
}

# first optimiser step at which addition L10 last-character accuracy passes 0.5 (None: never)
LAST_CHAR_BREAKTHROUGH: dict[str, int | None] = {
    "gpt": 3700, "gpt_level1": None, "gpt_level2": None, "ut": None, "ut_level1": 1470,
    "ut_level2": None, "trm": None,
}

# parameter counts at n_embd 384, n_head 6, block 180, vocabulary 14, budget 24
PARAMS: dict[str, int] = {
    "gpt": 42_640_142, "gpt_level1": 1_853_966, "gpt_level2": 1_863_182, "ut": 1_863_567,
    "ut_level1": 1_859_727, "ut_level2": 1_856_655, "trm": 1_856_655,
}

# Not in the paper: the authors' H-L analysis (their repository's notebook, printed "TABLE 1").
# Dual Nested UT and TRM on addition, n_embd 128, 2000 steps, a FIXED four ACT steps (so the
# passes grow with H(L+1): 8 to 96), two runs per (H, L) (most likely L_train 5 and 10):
# L10 character accuracy, (model, H, L) -> (run 1, run 2).
HL_STRUCTURE: dict[tuple[str, int, int], tuple[Reported, Reported]] = {
    (model, h, inner): (_t(a), _t(b)) for (model, h, inner), (a, b) in {
        ("ut_level2", 1, 1): (0.147, 0.232), ("ut_level2", 2, 1): (0.136, 0.177),
        ("ut_level2", 2, 2): (0.145, 0.173), ("ut_level2", 4, 2): (0.121, 0.129),
        ("ut_level2", 6, 2): (0.125, 0.125), ("ut_level2", 8, 2): (0.101, 0.141),
        ("trm", 1, 1): (0.127, 0.106), ("trm", 2, 1): (0.073, 0.129),
        ("trm", 2, 2): (0.117, 0.151), ("trm", 4, 2): (0.137, 0.131),
        ("trm", 6, 2): (0.134, 0.121), ("trm", 8, 2): (0.107, 0.130),
    }.items()}

NOT_REPORTED = "not reported by the paper"
FIG3_MODELS = ("gpt", "ut", "trm")  # the rungs of the paper's Fig. 3 (all three tasks)
LENGTH = 10  # the paper's training length: every L10 value above is at it


@dataclass(frozen=True)
class Cell:
    """One number the paper reports: `metric` of `model` on `task` at evaluation `length`."""

    model: str
    task: str
    metric: str  # a column of the results frames: "char_acc" or "seq_acc"
    length: int
    value: Reported


def cells() -> list[Cell]:
    """Every accuracy the paper reports at the end of training, as one list."""
    out = [Cell(m, t, "char_acc", LENGTH, v) for (m, t), v in L10_CHAR_ACC.items()]
    out += [Cell(m, "addition", "seq_acc", LENGTH, v) for m, v in L10_SEQ_ACC_ADDITION.items()]
    out += [Cell(m, "addition", "char_acc", length, v)
            for m, by_length in ADDITION_LONG_CHAR_ACC.items() for length, v in by_length.items()]
    return out


def reported(table: dict, key: object) -> str:
    """A value of one of the tables above for display, or NOT_REPORTED (a rung or cell the
    paper does not show, e.g. a rung added to the ladder here)."""
    value = table.get(key)
    if value is None:
        return NOT_REPORTED
    value = value.value if isinstance(value, Reported) else value
    return f"{value:,}" if isinstance(value, int) else f"{value:.3f}"


CHANCE = 0.1  # one digit in ten
