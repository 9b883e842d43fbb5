"""Training in plain PyTorch (spec 5.1), with exact resume.

AdamW (lr 3e-4, weight decay 0.01 on every parameter, no schedule, no clipping), fp32 unless
a CUDA-only numerics switch is given. One global seed fixes the initialisation, dropout and
the TRM's exploration draws; the data stream and the evaluation have generators of their own,
so evaluation never changes the training trajectory. A checkpoint holds everything that
moves (weights, optimiser, data stream, RNG states, history), so a resumed run continues
bit for bit where the interrupted one stopped.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from artrm.atomic import torch_save
from artrm.config import ExecConfig, RunConfig
from artrm.evaluate import evaluate
from artrm.models import ARModel, build_model
from artrm.paths import checkpoints_dir
from artrm.provenance import environment
from artrm.runtime import (
    apply_threads,
    check_exec,
    numerics,
    resolve_device,
    rng_state,
    set_rng_state,
)
from artrm.store import Record
from artrm.tasks import TrainStream, lm_batch


@dataclass
class Progress:
    """Everything about a run that grows with its steps."""

    step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)  # one entry per eval round
    curves: dict[str, list[float]] = field(default_factory=dict)  # per-step statistics
    train_time_s: float = 0.0
    eval_time_s: float = 0.0


def checkpoint_path(cfg: RunConfig, root: Path | None = None) -> Path:
    return (root or checkpoints_dir()) / cfg.hash[:16] / "checkpoint.pt"


def prepare_model(model: ARModel, exe: ExecConfig) -> ARModel:
    """Compile the shared block's forward (hooks stay outside, so passes are still counted)."""
    if exe.compile:
        for block in model.blocks:
            block.forward = torch.compile(block.forward, dynamic=True)
    return model


class Trainer:
    """One run: model, optimiser, data stream and progress, resumable from a checkpoint."""

    def __init__(self, cfg: RunConfig, exe: ExecConfig, ckpt: Path | None) -> None:
        self.cfg, self.exe, self.ckpt = cfg, exe, ckpt
        self.device = resolve_device(exe.device)
        check_exec(cfg.precision, exe, self.device)
        apply_threads(exe)
        torch.manual_seed(cfg.seed)
        self.model = prepare_model(build_model(cfg.model, cfg.arch).to(self.device), exe)
        o = cfg.optim
        fused = {"fused": True} if exe.fused_adamw else {}
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=o.lr,
                                           betas=(o.beta1, o.beta2), eps=o.eps,
                                           weight_decay=o.weight_decay, **fused)
        self.stream = TrainStream(cfg.task, cfg.data.train_len, o.batch_size, cfg.seed)
        self.progress = Progress()
        if ckpt is not None and ckpt.exists():
            self._resume(torch.load(ckpt, map_location=self.device, weights_only=False))

    # -- checkpoints ---------------------------------------------------------------------------
    def _resume(self, state: dict[str, Any]) -> None:
        if state["config_hash"] != self.cfg.hash:
            raise ValueError(f"checkpoint {self.ckpt} belongs to another config")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.stream.load_state_dict(state["stream"])
        set_rng_state(state["rng"], self.device)
        self.progress = Progress(**state["progress"])

    def save_checkpoint(self) -> None:
        if self.ckpt is None:
            return
        torch_save(self.ckpt, {
            "config_hash": self.cfg.hash, "config": self.cfg.to_dict(),
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "stream": self.stream.state_dict(), "rng": rng_state(self.device),
            "progress": asdict(self.progress)})

    # -- steps ---------------------------------------------------------------------------------
    def train_step(self) -> dict[str, float]:
        inputs, targets = lm_batch(self.stream.next(), self.cfg.arch.block_size,
                                   self.cfg.data.padding)
        inputs, targets = inputs.to(self.device), targets.to(self.device)
        with numerics(self.cfg.precision, self.device):
            out = self.model(inputs, targets)
        out.loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)  # params without grad stay untouched
        passes = self.model.passes
        return {"loss": out.loss.item(), "passes_forward": passes.forward,
                "passes_backward": passes.backward, **out.stats}

    def evaluate(self, lengths: tuple[int, ...]) -> dict[str, Any]:
        e = self.cfg.eval
        with numerics(self.cfg.precision, self.device):
            return evaluate(self.model, self.cfg.task, lengths, e.n_problems, self.cfg.seed,
                            e.decoding, round_id=self.progress.step)

    def run(self, stop_at: int | None = None) -> bool:
        """Train to the end (True) or until step `stop_at` (False), checkpointing on the way."""
        cfg, p = self.cfg, self.progress
        every = self.exe.checkpoint_every or cfg.eval.every
        last = cfg.optim.steps if stop_at is None else min(stop_at, cfg.optim.steps)
        bar = tqdm(total=cfg.optim.steps, initial=p.step, disable=not self.exe.progress,
                   desc=f"{cfg.model}/{cfg.task}/s{cfg.seed}", leave=False)
        self.model.train()
        while p.step < last:
            t0 = time.perf_counter()
            stats = self.train_step()
            p.train_time_s += time.perf_counter() - t0
            p.step += 1
            for k, v in stats.items():
                p.curves.setdefault(k, []).append(round(v, 5))
            if p.step % cfg.eval.every == 0 or p.step == cfg.optim.steps:
                self._eval_round()
                bar.set_postfix(loss=f"{stats['loss']:.3f}")
            if p.step % every == 0 or p.step == last:
                self.save_checkpoint()
            bar.update(1)
        bar.close()
        return p.step == cfg.optim.steps

    def _eval_round(self) -> None:
        p, final = self.progress, self.progress.step == self.cfg.optim.steps
        since = p.history[-1]["step"] if p.history else 0
        t0 = time.perf_counter()
        metrics = self.evaluate(self.cfg.eval.lengths if final else self.cfg.eval.periodic_lengths)
        p.eval_time_s += time.perf_counter() - t0
        entry: dict[str, Any] = {"step": p.step}
        for key, values in sorted(p.curves.items()):
            entry[f"train_{key}"] = _mean(values[since:p.step])
        entry["eval"] = metrics
        p.history.append(entry)

    # -- the record ----------------------------------------------------------------------------
    def record(self, label: str | None = None) -> Record:
        cfg, p = self.cfg, self.progress
        return {
            "schema": 1,
            "config_hash": cfg.hash,
            "model": cfg.model, "task": cfg.task, "seed": cfg.seed, "label": label,
            "config": cfg.to_dict(),
            "params": self.model.num_parameters(),
            "passes": {
                "nominal": cfg.plan.nominal_passes,
                "forward_mean": _mean(p.curves["passes_forward"]),
                "backward_mean": _mean(p.curves["passes_backward"]),
            },
            "plan": asdict(cfg.plan),
            "final": p.history[-1]["eval"],
            "history": p.history,
            "curves": p.curves,
            "provenance": {**environment(self.device), "exec": asdict(self.exe),
                           "train_time_s": round(p.train_time_s, 2),
                           "eval_time_s": round(p.eval_time_s, 2),
                           "wall_time_s": round(p.train_time_s + p.eval_time_s, 2)},
        }


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def train(cfg: RunConfig, exe: ExecConfig | None = None, *, checkpoints: Path | None = None,
          keep_checkpoint: bool = True, stop_at: int | None = None, label: str | None = None,
          ) -> Record | None:
    """Train `cfg`; the record, or None when stopped at `stop_at` before the last step.

    With `keep_checkpoint` the run checkpoints under `checkpoints` (default data/checkpoints)
    and resumes from an existing checkpoint of the same config; without, it neither reads
    nor writes one.
    """
    ckpt = checkpoint_path(cfg, checkpoints) if keep_checkpoint else None
    trainer = Trainer(cfg, exe or ExecConfig(), ckpt)
    done = trainer.run(stop_at=stop_at)
    return trainer.record(label) if done else None
