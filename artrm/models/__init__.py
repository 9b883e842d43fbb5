"""The seven rungs of the ladder (`artrm.models.ladder`) and how to build one."""

from __future__ import annotations

import dataclasses

from artrm.config import ArchConfig
from artrm.models.base import ARModel, ModelOutput
from artrm.models.ladder import RUNGS, rung

MODELS: dict[str, type[ARModel]] = RUNGS  # the live registry, in ladder order


def build_model(name: str, arch: ArchConfig | None = None, **overrides: object) -> ARModel:
    """Build rung `name` from `arch` (default: the paper's) with field `overrides`; its loop
    plan follows from its budget rule."""
    cls = rung(name)
    arch = dataclasses.replace(arch or ArchConfig(), **overrides)
    return cls(arch, cls.loop_plan(arch))


__all__ = ["MODELS", "ARModel", "ModelOutput", "build_model"]
