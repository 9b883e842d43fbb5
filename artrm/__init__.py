"""artrm: the executable companion to "Tiny Autoregressive Recursive Models"."""

from artrm.config import ArchConfig, DataConfig, EvalConfig, ExecConfig, OptimConfig
from artrm.data.tasks import task_names
from artrm.errors import ConfigError
from artrm.models import MODELS, build_model
from artrm.models.ladder import model_names
from artrm.run_config import RunConfig

__version__ = "0.1.0"

__all__ = ["MODELS", "ArchConfig", "ConfigError", "DataConfig", "EvalConfig", "ExecConfig",
           "OptimConfig", "RunConfig", "build_model", "model_names", "task_names"]
