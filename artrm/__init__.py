"""artrm: the executable companion to "Tiny Autoregressive Recursive Models"."""

from artrm.config import ArchConfig, DataConfig, EvalConfig, ExecConfig, OptimConfig, RunConfig
from artrm.errors import ConfigError
from artrm.ladder import LADDER, MODEL_NAMES
from artrm.models import MODELS, build_model
from artrm.tasks import TASKS

__version__ = "0.1.0"

__all__ = ["LADDER", "MODELS", "MODEL_NAMES", "TASKS", "ArchConfig", "ConfigError", "DataConfig",
           "EvalConfig", "ExecConfig", "OptimConfig", "RunConfig", "build_model"]
