"""The ladder: the seven rungs in order, each one change away from the previous one.

A rung is an `ARModel` subclass that owns its facts as class attributes (display name,
colour, budget rule, the switches it accepts, its chapter). Configs, tables, plots, the
notebook runner and the CLI read the rungs from `RUNGS`, so a new rung is one file and its
place in `LADDER`; `register` adds one defined elsewhere (a notebook, a test) at the end.
"""

from __future__ import annotations

from artrm.models.base import ARModel
from artrm.models.gpt import DenseTransformer
from artrm.models.gpt_level1 import IterativeTransformer
from artrm.models.gpt_level2 import IterativeStepTransformer
from artrm.models.trm import AutoregressiveTRM
from artrm.models.ut import UniversalTransformer
from artrm.models.ut_level1 import DualUT
from artrm.models.ut_level2 import DualNestedUT
from artrm.registry import Registry

LADDER: tuple[type[ARModel], ...] = (
    DenseTransformer,  # gpt
    IterativeTransformer,  # gpt_level1: one shared block
    IterativeStepTransformer,  # gpt_level2: + a step embedding
    UniversalTransformer,  # ut: + ACT halting
    DualUT,  # ut_level1: + two streams, y and z
    DualNestedUT,  # ut_level2: + H x L nested cycles, truncated gradient
    AutoregressiveTRM,  # trm: + Q-halt and a terminal answer
)

RUNGS: Registry[type[ARModel]] = Registry("model")  # name -> class, in ladder order
for _cls in LADDER:
    RUNGS.add(_cls.name, _cls)


def register(cls: type[ARModel]) -> type[ARModel]:
    """Class decorator: add a rung defined outside the package at the end of the ladder."""
    return RUNGS.add(cls.name, cls)


def unregister(name: str) -> None:
    """Remove a rung added with `register` (for tests that register a toy one)."""
    if name in (cls.name for cls in LADDER):
        raise ValueError(f"{name} is a rung of the ladder; it cannot be removed")
    RUNGS.pop(name, None)


def model_names() -> tuple[str, ...]:
    return tuple(RUNGS)


def rung(name: str) -> type[ARModel]:
    """The class of the rung called `name`; a ConfigError lists the registered ones."""
    return RUNGS.lookup(name)


def accepting(switch: str) -> tuple[str, ...]:
    """The rungs that accept the rung-specific config field `switch`."""
    return tuple(name for name, cls in RUNGS.items() if switch in cls.switches)


def previous(name: str) -> str | None:
    """The rung before `name` on the ladder (None for the first)."""
    names = model_names()
    i = names.index(rung(name).name)
    return names[i - 1] if i else None

