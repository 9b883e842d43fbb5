"""The seven models of the ladder and their registry."""

from __future__ import annotations

import dataclasses

from artrm.compute import match_budget
from artrm.config import ArchConfig
from artrm.errors import check_choice
from artrm.ladder import MODEL_NAMES
from artrm.models.base import ARModel, ModelOutput
from artrm.models.gpt import DenseTransformer
from artrm.models.gpt_level1 import IterativeTransformer
from artrm.models.gpt_level2 import IterativeStepTransformer
from artrm.models.trm import AutoregressiveTRM
from artrm.models.ut import UniversalTransformer
from artrm.models.ut_level1 import DualUT
from artrm.models.ut_level2 import DualNestedUT

MODELS: dict[str, type[ARModel]] = {cls.name: cls for cls in (
    DenseTransformer, IterativeTransformer, IterativeStepTransformer, UniversalTransformer,
    DualUT, DualNestedUT, AutoregressiveTRM)}
assert tuple(MODELS) == MODEL_NAMES, "the registry must follow the ladder"


def build_model(name: str, arch: ArchConfig | None = None, **overrides: object) -> ARModel:
    """Build model `name` from `arch` (default: the paper's) with field `overrides`; its loop
    plan follows from the budget."""
    check_choice("model", name, MODEL_NAMES)
    arch = dataclasses.replace(arch or ArchConfig(), **overrides)
    plan = match_budget(name, arch.budget, arch.n_outer, arch.n_inner)
    return MODELS[name](arch, plan)


__all__ = ["MODELS", "ARModel", "ModelOutput", "build_model"]
