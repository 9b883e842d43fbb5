"""Tables for reading: every table of the book goes through `show`.

`show` turns a frame (from artrm.book.report and the chapters' helpers, artrm.book.chapters)
into a `Table`, which a notebook displays as plain HTML: no index column (the index becomes leading
columns, a value repeated from the row above left blank), rung names instead of model ids,
words for booleans, rounded numbers (fractions as percentages where asked), "–" with a footnote
instead of a missing value, and nothing truncated. The book's stylesheet
(book/_static/artrm.css) wraps long headers so that a table fits the text column.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from artrm.models.ladder import RUNGS, rung

MISSING = "–"
MISSING_NOTE = "–: no run stored."
WORDS = {True: "yes", False: "no"}
RENAMED = {"model": "rung", "minus": "against"}  # index or column names of model ids
WITH_VARIANT = re.compile(r"(\w+) \((.+)\)")  # "trm (faithful)"
CSS_CLASS = "artrm-table"
BREAK_AFTER = "+"  # a line may break after it ("state_norm+deep_supervision" is one word)


@dataclass(frozen=True)
class Table:
    """A table ready to read: `frame` holds text only, `notes` its footnotes."""

    frame: pd.DataFrame
    notes: tuple[str, ...] = ()

    def _repr_html_(self) -> str:
        table = self.frame.to_html(index=False, border=0, classes=CSS_CLASS, justify="left")
        notes = "".join(f'<p class="{CSS_CLASS}-note">{html.escape(n)}</p>' for n in self.notes)
        return f'<div class="{CSS_CLASS}-wrap">{table}{notes}</div>'

    def __repr__(self) -> str:
        return "\n".join([self.frame.to_string(index=False), *self.notes])


def rung_name(value: str) -> str:
    """A model id as its rung's name ("trm (faithful)" too); any other text unchanged."""
    if value in RUNGS:
        return rung(value).display
    found = WITH_VARIANT.fullmatch(value)
    if found and found.group(1) in RUNGS:
        return f"{rung(found.group(1)).display} ({found.group(2)})"
    return value


def header(label: Hashable) -> str:
    """A column label as a header: tuples joined, floats short, ids and underscores as words."""
    if isinstance(label, tuple):
        return " ".join(header(part) for part in label if str(part))
    if isinstance(label, float):
        return f"{label:.3g}"
    text = str(label)
    return RENAMED.get(text, text.replace("_", " "))


def number(x: float, percent: bool = False, digits: int = 1) -> str:
    """A number as text: a fraction in percent with `digits` decimals, an integral value as an
    integer, any other with three significant digits."""
    if percent:
        return f"{100 * x:.{digits}f}"
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.3g}"


def cell(value: Any, percent: bool = False, digits: int = 1) -> str | None:
    """One value as text, or None where it is missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, bool):
        return WORDS[value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return number(value, percent, digits)
    return rung_name(str(value)).replace(BREAK_AFTER, BREAK_AFTER + "\u200b")


def flat(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The frame with its index as leading columns (a plain 0..n-1 index dropped) and the
    number of those columns."""
    if isinstance(df.index, pd.RangeIndex) and df.index.name is None:
        return df.reset_index(drop=True), 0
    names = [name if name is not None else "" for name in df.index.names]
    out = df.copy()
    out.index = out.index.set_names([f"__level{i}" for i in range(len(names))])
    out = out.reset_index()
    return out.rename(columns={f"__level{i}": n for i, n in enumerate(names)}), len(names)


def sparse(text: pd.DataFrame, leading: int) -> pd.DataFrame:
    """`text` with each leading column's value left blank where it repeats the row above (and
    every leading column before it does too)."""
    out = text.copy()
    same = pd.Series(True, index=text.index)
    for i in range(leading):  # by position: labels may repeat (several unnamed levels)
        values = text.iloc[:, i]
        same &= values.eq(values.shift())
        out.iloc[:, i] = values.where(~same, "")
    return out


def shared_columns(frame: pd.DataFrame, leading: int) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """`frame` without the columns (after the leading ones) that hold one value in every row
    of several, and those columns as notes ("torch: 2.13.0")."""
    if len(frame) < 2:
        return frame, ()
    same = [c for c in frame.columns[leading:] if frame[c].astype(str).nunique() == 1]
    notes = "; ".join(f"{header(c)}: {cell(frame[c].iloc[0])}" for c in same)
    return frame.drop(columns=same), ((f"Every row: {notes}.",) if same else ())


def show(df: pd.DataFrame, percent: bool | Collection[str] = (), digits: int = 1,
         notes: tuple[str, ...] = (), missing: str = MISSING_NOTE,
         rename: Mapping[str, str] | None = None, shared: bool = False) -> Table:
    """`df` as a table for reading (see the module's docstring). `percent`: the columns (by
    their label in `df`, or True for every numeric column) whose fractions show in percent;
    `missing`: the footnote when a cell is missing; `rename`: labels to replace; `shared`:
    columns with one value in every row become a note."""
    frame, leading = flat(df)
    if shared:
        frame, common = shared_columns(frame, leading)
        notes = (*notes, *common)
    columns = [str(c) if not isinstance(c, (tuple, float)) else c for c in frame.columns]
    text = pd.DataFrame(index=frame.index)
    gaps = False
    for i, label in enumerate(columns):
        in_percent = percent is True or (not isinstance(percent, bool) and label in percent)
        values = [cell(v, in_percent, digits) for v in frame.iloc[:, i]]
        gaps |= any(v is None for v in values)
        text[i] = [MISSING if v is None else v for v in values]
    text.columns = [(rename or {}).get(c, header(c)) if isinstance(c, str) else header(c)
                    for c in columns]
    return Table(sparse(text, leading), notes + ((missing,) if gaps else ()))



# -- compact views of report.py's frames ------------------------------------------------------
def _p(x: float) -> str:
    return MISSING if x is None or math.isnan(x) else f"{x:.2g}"


def paper_cells(df: pd.DataFrame) -> pd.DataFrame:
    """`report.paper_cells` with each scale's mean, range and seeds in one cell ("95.0
    [90.0, 100.0], 3 seeds") next to its difference from the paper."""
    out = df[["paper", "source"]].copy()
    for scale in dict.fromkeys(c.split(": ")[0] for c in df.columns if ": " in c):
        seeds = df[f"{scale}: seeds"]
        spread = df.get(f"{scale}: range", pd.Series("", index=df.index))
        out[f"ours, {scale}"] = [
            MISSING if not n else f"{mean}{' ' + r if r else ''}, {n} seed{'s' if n > 1 else ''}"
            for mean, r, n in zip(df[f"{scale}: ours"], spread, seeds)]
        out[f"difference, {scale}"] = df[f"{scale}: difference"]
    return out


def comparisons(df: pd.DataFrame, keys: list[str], counted: str = "learned") -> Table:
    """A family of comparisons (`report.with_verdicts`, indexed or with `keys` as columns) in
    four columns: the difference over the paired seeds, seeds that learned (or reached what
    `counted` names) against the other cell, both tests' p, and the verdict with Holm's p;
    the decoding in a note."""
    flat_df = df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df
    difference = next(c for c in flat_df.columns if str(c).startswith("difference"))
    out = flat_df[keys].copy()
    out[f"{difference}, seeds"] = [f"{d:+.3g} ({n})" if n else MISSING
                                   for d, n in zip(flat_df[difference], flat_df["seeds"])]
    out[f"{counted} (against)"] = flat_df["learned"] + " (" + flat_df["against"] + ")"
    out["p: Fisher, sign-flip"] = [f"{_p(f)}, {_p(s)}" for f, s in
                                   zip(flat_df["fisher p"], flat_df["sign-flip p"])]
    out["verdict (Holm p)"] = [f"{v} ({_p(h)})" for v, h in
                               zip(flat_df["verdict"], flat_df["holm p"])]
    out = out.rename(columns={"minus variant": "against"})
    keys = ["against" if k == "minus variant" else k for k in keys]
    decodings = ", ".join(dict.fromkeys(flat_df["decoding"])) or MISSING
    note = f"Decoding: {decodings}. Seeds: the paired seeds of the difference."
    return show(out.set_index(keys), notes=(note,))


def gaps(df: pd.DataFrame) -> Table:
    """`report.study_gaps` as one row per nested rung and variant, one column per task and
    baseline: the difference in points over the paired seeds and the verdict."""
    text = df.assign(
        rung=[f"{rung_name(m)}" for m in df["model"]],
        against=[f"{t}: {rung(b).short} " for t, b in zip(df["task"], df["minus"])],
        cell=[f"{100 * d:+.0f}, {v}" for d, v in zip(df["difference"], df["verdict"])])
    table = text.pivot_table(index=["rung", "variant"], columns="against", values="cell",
                             aggfunc="first", sort=False)
    note = ("Each cell: the nested variant minus the baseline, in points of character "
            "accuracy (mean over the paired seeds), and the verdict after Holm's correction.")
    return show(table.rename_axis(columns=None), notes=(note,))
