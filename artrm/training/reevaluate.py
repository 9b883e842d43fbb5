"""Evaluate a trained run again (other lengths, decoding, or loop steps) from its checkpoint,
and keep the result in its record under "evaluations", or as the record of a config that
differs from the trained one only in its evaluation.

Test-time compute: `steps` runs the recurrent rungs for fewer or more loop steps than they
were trained with (step embeddings beyond the trained range reuse the last one); the realised
block passes per forward are measured alongside the accuracy.
"""

from __future__ import annotations

from typing import Any

from artrm.config import DECODINGS, EvalConfig, check_param
from artrm.errors import ConfigError, check_choice
from artrm.models import ARModel, build_model
from artrm.models.ladder import accepting, rung
from artrm.results.schema import Record, sealed, unsealed
from artrm.results.store import ResultStore
from artrm.run_config import RunConfig, check_fits
from artrm.training.evaluate import evaluate, inference_steps
from artrm.training.runtime import numerics, resolve_device
from artrm.training.train import checkpoint_path, read_checkpoint

MAX_STEP_FACTOR = 8  # test-time loop steps: at most this many times the trained number


def load_trained(record: Record, device: str = "cpu") -> tuple[ARModel, int]:
    """The run's model with its final weights, and its training step; ConfigError when the
    checkpoint is missing, unreadable, another run's, or not at the run's last step."""
    cfg = RunConfig.from_dict(record["config"])
    ckpt = checkpoint_path(cfg)
    if not ckpt.exists():
        raise ConfigError(f"run {cfg.hash[:12]} has no checkpoint at {ckpt} (checkpoints stay "
                          f"on the machine that trained the run); retrain it with --force")
    dev = resolve_device(device)
    state = read_checkpoint(ckpt, cfg, dev)
    step = state.get("progress", {}).get("step")
    if step != cfg.optim.steps:
        raise ConfigError(f"the checkpoint of run {cfg.hash[:12]} is at step {step}, not at "
                          f"the run's last step {cfg.optim.steps}; finish or retrain the run")
    model = build_model(cfg.model, cfg.arch).to(dev)
    model.load_state_dict(state["model"])
    return model, step


def check_steps(steps: tuple[int | None, ...], trained: int) -> None:
    for k in steps:
        if k is not None and not 1 <= k <= MAX_STEP_FACTOR * trained:
            raise ConfigError(f"steps must lie in [1, {MAX_STEP_FACTOR * trained}] "
                              f"({MAX_STEP_FACTOR} x the {trained} trained loop steps); got {k}")


def reevaluate(record: Record, lengths: tuple[int, ...] | None = None,
               decoding: str | None = None, n_problems: int | None = None,
               steps: tuple[int | None, ...] = (None,), full_compute: bool | None = None,
               device: str = "cpu") -> list[dict[str, Any]]:
    """One evaluation entry per value of `steps` (None = as trained)."""
    cfg = RunConfig.from_dict(record["config"])
    lengths = check_param("lengths", lengths, EvalConfig, "lengths") if lengths else \
        cfg.eval.lengths
    decoding = cfg.eval.decoding if decoding is None else decoding
    n_problems = cfg.eval.n_problems if n_problems is None else \
        check_param("n_problems", n_problems, EvalConfig, "n_problems")
    check_choice("decoding", decoding, DECODINGS)
    if full_compute and "full_compute" not in rung(cfg.model).switches:
        raise ConfigError(f"full-compute applies to {', '.join(accepting('full_compute'))} "
                          f"only (they halt early); model is {cfg.model}")
    check_fits(cfg.task, lengths, cfg.arch.block_size)
    if steps != (None,) and not rung(cfg.model).tied:  # refused before loading anything
        raise ConfigError(f"steps cannot change for {cfg.model}: its layers are distinct")
    check_steps(steps, cfg.plan.steps)
    model, step = load_trained(record, device)
    entries = []
    for k in steps:
        with inference_steps(model, k, full_compute), numerics(cfg.precision, model_device(model)):
            metrics = evaluate(model, cfg.task, lengths, n_problems, cfg.seed, decoding,
                               round_id=step)
        entries.append({"decoding": decoding, "n_problems": n_problems, "steps": k,
                        "full_compute": full_compute, "trained_steps": cfg.plan.steps,
                        "metrics": metrics})
    return entries


def model_device(model: ARModel) -> Any:
    return next(model.parameters()).device


def derived_record(source: Record, cfg: RunConfig, device: str = "cpu") -> Record:
    """The record of `cfg`, trained exactly as `source` but evaluated otherwise, from the
    source's final checkpoint. Its periodic rounds are the source's (they need the weights of
    earlier steps); `derived_from` says so."""
    model, step = load_trained(source, device)
    e = cfg.eval
    with numerics(cfg.precision, model_device(model)):
        metrics = evaluate(model, cfg.task, e.lengths, e.n_problems, cfg.seed, e.decoding,
                           round_id=step)
    history = source["history"][:-1] + [{**source["history"][-1], "eval": metrics}]
    return {**unsealed(source), "config_hash": cfg.hash, "config": cfg.to_dict(), "final": metrics,
            "history": history,
            "derived_from": {"config_hash": source["config_hash"],
                             "note": "trained weights of that run, evaluated again; periodic "
                                     "rounds before the last are that run's"}}


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
    """Add `entries` to the stored record (replacing equal evaluations), atomically and under
    the record's lock, so concurrent saves never lose one another's evaluations."""
    cfg = RunConfig.from_dict(record["config"])
    with store.record_lock(cfg):
        current = store.find(cfg) or record
        kept = [e for e in current.get("evaluations", [])
                if not any(same_evaluation(e, new) for new in entries)]
        current = sealed({**current, "evaluations": kept + entries})  # as stored
        store.save(current)
    return current
