"""The seven rungs of the ladder, registered in ladder order (importing a rung's module
registers it; each imports the rung it extends first)."""

from __future__ import annotations

import dataclasses

from artrm.config import ArchConfig
from artrm.models import trm  # noqa: F401  (registers all seven rungs, gpt to trm)
from artrm.models.base import ARModel, ModelOutput
from artrm.registry import RUNGS, rung

MODELS: dict[str, type[ARModel]] = RUNGS  # the live registry, in ladder order


def build_model(name: str, arch: ArchConfig | None = None, **overrides: object) -> ARModel:
    """Build rung `name` from `arch` (default: the paper's) with field `overrides`; its loop
    plan follows from its budget rule."""
    cls = rung(name)
    arch = dataclasses.replace(arch or ArchConfig(), **overrides)
    return cls(arch, cls.loop_plan(arch))


__all__ = ["MODELS", "ARModel", "ModelOutput", "build_model"]
