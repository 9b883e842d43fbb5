"""Evaluate a trained run again (other lengths, decoding, or loop steps) from its checkpoint,
and keep the result in its record under "evaluations".

Test-time compute: `steps` runs the recurrent rungs for fewer or more loop steps than they
were trained with (step embeddings beyond the trained range reuse the last one); the realised
block passes per forward are measured alongside the accuracy.
"""

from __future__ import annotations

from typing import Any

import torch

from artrm.config import RunConfig, check_fits
from artrm.errors import ConfigError, check_choice
from artrm.evaluate import evaluate, inference_steps
from artrm.models import ARModel, build_model
from artrm.runtime import resolve_device
from artrm.store import Record, ResultStore
from artrm.train import checkpoint_path


def load_trained(record: Record, device: str = "cpu") -> tuple[ARModel, int]:
    """The run's model with its final weights, and its training step."""
    cfg = RunConfig.from_dict(record["config"])
    ckpt = checkpoint_path(cfg)
    if not ckpt.exists():
        raise ConfigError(f"run {cfg.hash[:12]} has no checkpoint at {ckpt} (checkpoints stay "
                          f"on the machine that trained the run); retrain it with --force")
    dev = resolve_device(device)
    state = torch.load(ckpt, map_location=dev, weights_only=False)
    model = build_model(cfg.model, cfg.arch).to(dev)
    model.load_state_dict(state["model"])
    return model, state["progress"]["step"]


def reevaluate(record: Record, lengths: tuple[int, ...] | None = None,
               decoding: str | None = None, n_problems: int | None = None,
               steps: tuple[int | None, ...] = (None,), full_compute: bool | None = None,
               device: str = "cpu") -> list[dict[str, Any]]:
    """One evaluation entry per value of `steps` (None = as trained)."""
    cfg = RunConfig.from_dict(record["config"])
    lengths = tuple(lengths or cfg.eval.lengths)
    decoding = decoding or cfg.eval.decoding
    n_problems = n_problems or cfg.eval.n_problems
    check_choice("decoding", decoding, ("sample", "greedy"))
    check_fits(cfg.task, lengths, cfg.arch.block_size)
    model, step = load_trained(record, device)
    entries = []
    for k in steps:
        with inference_steps(model, k, full_compute):
            metrics = evaluate(model, cfg.task, lengths, n_problems, cfg.seed, decoding,
                               round_id=step)
        entries.append({"decoding": decoding, "n_problems": n_problems, "steps": k,
                        "full_compute": full_compute, "trained_steps": cfg.plan.n_layer,
                        "metrics": metrics})
    return entries


def stored_evaluation(record: Record, decoding: str, steps: int | None = None) -> dict | None:
    """Metrics of a stored re-evaluation (as-trained compute unless `steps` is given)."""
    for e in record.get("evaluations", []):
        if e["decoding"] == decoding and e["steps"] == steps and not e["full_compute"]:
            return e["metrics"]
    return None


def same_evaluation(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("decoding", "n_problems", "steps", "full_compute")
    return all(a[k] == b[k] for k in keys) and set(a["metrics"]) == set(b["metrics"])


def save_evaluations(store: ResultStore, record: Record, entries: list[dict[str, Any]]) -> Record:
    """Add `entries` to the record (replacing equal evaluations) and store it atomically."""
    kept = [e for e in record.get("evaluations", [])
            if not any(same_evaluation(e, new) for new in entries)]
    record = {**record, "evaluations": kept + entries}
    store.save(record)
    return record
