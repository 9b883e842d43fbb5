"""Training in plain PyTorch (book: "Reproducibility", the training protocol), with exact
resume.

AdamW (lr 3e-4, weight decay 0.01 on every parameter, no schedule, no clipping), fp32 unless
a CUDA-only numerics switch is given. One global seed fixes the initialisation, dropout and
the TRM's exploration draws; the data stream and the evaluation have generators of their own,
so evaluation never changes the training trajectory. A checkpoint holds everything that
moves (weights, optimiser, data stream, RNG states, history), so a resumed run continues
bit for bit where the interrupted one stopped. SIGINT and SIGTERM stop a run at the next
step with a checkpoint (`Interrupted`); a non-finite loss stops it with nothing stored
(`Diverged`, found when the statistics are read: at every evaluation round, checkpoint and
stop, before anything is kept).

Sync-free steps (`ExecConfig.sync_free`, the default on CUDA) never wait for the device:
static halting loops (the same outputs, losses and gradients), statistics kept on the
device until they are read, batches copied from pinned memory; on CUDA the step is then
replayed as a CUDA graph (`artrm.training.graphs`) unless `graphs` is off. On a CPU the
default is the eager path, numerically the authors' loop.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from artrm.config import ExecConfig
from artrm.data.tasks import TrainStream, lm_batch
from artrm.errors import ConfigError
from artrm.models import ARModel, build_model
from artrm.models.execution import Stat
from artrm.paths import checkpoints_dir
from artrm.results.atomic import torch_save
from artrm.results.provenance import environment
from artrm.results.schema import SCHEMA, Record
from artrm.run_config import RunConfig
from artrm.training.evaluate import evaluate
from artrm.training.generation import Decoder
from artrm.training.graphs import GraphDecoder, TrainGraph
from artrm.training.passes import pass_stats
from artrm.training.runtime import (
    apply_threads,
    check_exec,
    is_sync_free,
    numerics,
    resolve_device,
    rng_state,
    set_rng_state,
    uses_graphs,
)
from artrm.training.stats import Diverged, StepStats, check_weights  # noqa: F401 (Diverged)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """Stopped by a signal; `what` says where and what was kept."""

    def __init__(self, signum: int, what: str) -> None:
        super().__init__(signum, what)
        self.signum, self.what = signum, what

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    def __str__(self) -> str:
        return f"interrupted by {signal.Signals(self.signum).name} {self.what}"


@dataclass
class Progress:
    """Everything about a run that grows with its steps."""

    step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)  # one entry per eval round
    curves: dict[str, list[float]] = field(default_factory=dict)  # per-step statistics
    train_time_s: float = 0.0
    eval_time_s: float = 0.0


def checkpoint_path(cfg: RunConfig, root: Path | None = None) -> Path:
    """Where the run's checkpoint lives: keyed by the training part of its config, so runs
    that differ only in evaluation share the trained weights."""
    return (root or checkpoints_dir()) / cfg.train_hash[:16] / "checkpoint.pt"


def read_checkpoint(path: Path, cfg: RunConfig, device: torch.device) -> dict[str, Any]:
    """A checkpoint of `cfg`'s training; ConfigError when unreadable or another run's."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # a truncated, corrupt or foreign file: torch raises many kinds
        raise ConfigError(f"checkpoint {path} cannot be read ({type(err).__name__}); delete it "
                          f"or train again with --force") from None
    if not isinstance(state, dict) or state.get("train_hash") != cfg.train_hash:
        raise ConfigError(f"checkpoint {path} belongs to another run; delete it or train again "
                          f"with --force")
    return state


def resumable(state: dict[str, Any], cfg: RunConfig) -> bool:
    """Whether a checkpoint of `cfg`'s training (`read_checkpoint`) continues `cfg`: its
    evaluation history has `cfg`'s periodic rounds (the same `RunConfig.eval_schedule`)."""
    try:
        return RunConfig.from_dict(state["config"]).eval_schedule == cfg.eval_schedule
    except (KeyError, TypeError, ConfigError):
        return False


@contextlib.contextmanager
def stop_signals() -> Iterator[list[int]]:
    """While inside, SIGINT and SIGTERM only record their number in PENDING (yielded), so the
    run can stop cleanly at the next step (main thread only; elsewhere nothing changes). A
    signal recorded before, by `record_stop_signals` (a grid worker between runs), counts."""
    if threading.current_thread() is not threading.main_thread():
        yield PENDING
        return
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    record_stop_signals()
    try:
        yield PENDING
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


PENDING: list[int] = []  # stop signals this process has received and not yet acted on


def record_stop_signals() -> None:
    """From now on SIGINT and SIGTERM only append to PENDING."""
    for s in STOP_SIGNALS:
        signal.signal(s, lambda signum, frame: PENDING.append(signum))


def prepare_model(model: ARModel, exe: ExecConfig) -> ARModel:
    """Compile the shared block's forward (hooks stay outside, so passes are still counted)."""
    if exe.compile:
        for block in model.blocks:
            block.forward = torch.compile(block.forward, dynamic=True)
    return model


class Trainer:
    """One run: model, optimiser, data stream and progress, resumable from a checkpoint."""

    def __init__(self, cfg: RunConfig, exe: ExecConfig, ckpt: Path | None,
                 fresh: bool = False) -> None:
        self.cfg, self.exe, self.ckpt = cfg, exe, ckpt
        self.device = resolve_device(exe.device)
        check_exec(cfg.precision, exe, self.device)
        apply_threads(exe)
        torch.manual_seed(cfg.seed)
        self.model = prepare_model(build_model(cfg.model, cfg.arch).to(self.device), exe)
        self.sync_free, graphs = is_sync_free(exe, self.device), uses_graphs(exe, self.device)
        o = cfg.optim
        options: dict[str, Any] = {"fused": True} if exe.fused_adamw else {}
        if graphs:
            options["capturable"] = True  # the step count on the device, for the graph
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=o.lr,
                                           betas=(o.beta1, o.beta2), eps=o.eps,
                                           weight_decay=o.weight_decay, **options)
        self.stream = TrainStream(cfg.task, cfg.data.train_len, o.batch_size, cfg.seed)
        self.progress = Progress()
        if ckpt is not None and fresh:
            ckpt.unlink(missing_ok=True)  # --force: train from step 0
        if ckpt is not None and ckpt.exists():
            state = read_checkpoint(ckpt, cfg, self.device)
            if resumable(state, cfg):  # else from step 0: its history has other rounds
                self._resume(state)
        self.model.set_static(self.sync_free)  # after the weights are loaded
        self.pending = StepStats()
        self.graph = TrainGraph(self._step, self._zero_grad, _log) if graphs else None
        self.decoder = GraphDecoder(_log) if graphs else Decoder()

    # -- checkpoints ---------------------------------------------------------------------------
    def _resume(self, state: dict[str, Any]) -> None:
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.stream.load_state_dict(state["stream"])
            set_rng_state(state["rng"], self.device)
            self.progress = Progress(**state["progress"])
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise ConfigError(f"checkpoint {self.ckpt} does not fit this run ({err}); delete it "
                              f"or train again with --force") from None
        if self.progress.step > self.cfg.optim.steps:
            raise ConfigError(f"checkpoint {self.ckpt} is at step {self.progress.step}, beyond "
                              f"the run's {self.cfg.optim.steps} steps; retrain with --force")

    def save_checkpoint(self) -> bool:
        if self.ckpt is None:
            return False
        self.read_stats()  # Diverged here keeps the last finite checkpoint
        torch_save(self.ckpt, {
            "train_hash": self.cfg.train_hash, "config": self.cfg.to_dict(),
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "stream": self.stream.state_dict(), "rng": rng_state(self.device),
            "progress": asdict(self.progress)})
        return True

    # -- steps ---------------------------------------------------------------------------------
    def train_step(self) -> dict[str, Stat]:
        """One optimiser step; its statistics (loss, realised passes, the rung's own), as
        0-d device tensors when sync-free (read them with `read_stats` after `run`)."""
        inputs, targets = self.batch()
        if self.graph is not None:
            return self.graph(inputs, targets)
        stats = self._step(inputs, targets)
        self._zero_grad()
        return stats

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next training batch (inputs, targets), each (B, T), on the device (copied
        from pinned memory without waiting, on CUDA)."""
        inputs, targets = lm_batch(self.stream.next(), self.cfg.arch.block_size,
                                   self.cfg.data.padding)
        if self.device.type == "cuda":
            return (inputs.pin_memory().to(self.device, non_blocking=True),
                    targets.pin_memory().to(self.device, non_blocking=True))
        return inputs.to(self.device), targets.to(self.device)

    def _step(self, inputs: torch.Tensor, targets: torch.Tensor) -> dict[str, Stat]:
        """Forward, backward and update (gradients are left for `_zero_grad`)."""
        with numerics(self.cfg.precision, self.device, graph_safe=self.graph is not None):
            out = self.model(inputs, targets)
        out.loss.backward()
        self.optimizer.step()
        loss = out.loss.detach() if self.sync_free else out.loss.item()
        return {"loss": loss, **pass_stats(self.model, out.stats), **out.stats}

    def _zero_grad(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)  # params without grad stay untouched

    def read_stats(self) -> None:
        """Append the statistics of the steps run since the last read to the curves (one
        transfer from the device); `Diverged` at the first non-finite loss, or when the
        last update left non-finite weights (before any evaluation or checkpoint)."""
        if not self.pending.pending:
            return
        for row in self.pending.read(self.cfg.optim.lr):
            for k, v in row.items():
                self.progress.curves.setdefault(k, []).append(round(v, 5))
        check_weights(self.model, self.progress.step, self.cfg.optim.lr)

    def evaluate(self, lengths: tuple[int, ...]) -> dict[str, Any]:
        e, graphs = self.cfg.eval, self.graph is not None
        with numerics(self.cfg.precision, self.device, graph_safe=graphs):
            return evaluate(self.model, self.cfg.task, lengths, e.n_problems, self.cfg.seed,
                            e.decoding, round_id=self.progress.step, cached=self.exe.kv_cache,
                            decoder=self.decoder)

    def run(self, stop_at: int | None = None, save_at_stop: bool = True) -> bool:
        """Train to the end (True) or until step `stop_at` (False), checkpointing on the way
        (every `checkpoint_every` steps, at the end, and at `stop_at` if `save_at_stop`)."""
        cfg, p = self.cfg, self.progress
        every = self.exe.checkpoint_every or cfg.eval.every
        last = cfg.optim.steps if stop_at is None else min(stop_at, cfg.optim.steps)
        bar = tqdm(total=cfg.optim.steps, initial=p.step, disable=not self.exe.progress,
                   desc=f"{cfg.model}/{cfg.task}/s{cfg.seed}", leave=False)
        self.model.train()
        with stop_signals() as caught:
            while p.step < last:
                t0 = time.perf_counter()
                self.pending.add(p.step + 1, self.train_step())
                p.step += 1
                evaluating = p.step % cfg.eval.every == 0 or p.step == cfg.optim.steps
                if evaluating or p.step % every == 0 or p.step == last or caught:
                    self.read_stats()  # waits for the device: training time
                p.train_time_s += time.perf_counter() - t0
                if evaluating:
                    self._eval_round()
                    bar.set_postfix(loss=f"{p.curves['loss'][-1]:.3f}")
                if p.step % every == 0 or p.step == cfg.optim.steps or (
                        p.step == last and save_at_stop):
                    self.save_checkpoint()
                bar.update(1)
                if caught and p.step < last:
                    kept = ("checkpoint saved: run the same command again to resume"
                            if self.save_checkpoint() else "no checkpoint kept")
                    raise Interrupted(caught[0], f"at step {p.step} of {cfg.optim.steps}; {kept}")
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
        self.read_stats()
        cfg, p = self.cfg, self.progress
        return {
            "schema": SCHEMA,
            "config_hash": cfg.hash,
            "model": cfg.model, "task": cfg.task, "seed": cfg.seed, "label": label,
            "config": cfg.to_dict(),
            "params": self.model.num_parameters(),
            "passes": {
                "nominal": cfg.plan.nominal_passes,
                "forward_mean": _mean(p.curves["passes_forward"]),
                "backward_mean": _mean(p.curves["passes_backward"]),
            },
            "plan": cfg.plan.record(),
            "final": p.history[-1]["eval"],
            "history": p.history,
            "curves": p.curves,
            "provenance": {**environment(self.device), "exec": asdict(self.exe),
                           "train_time_s": round(p.train_time_s, 2),
                           "eval_time_s": round(p.eval_time_s, 2),
                           "wall_time_s": round(p.train_time_s + p.eval_time_s, 2)},
        }


def _log(line: str) -> None:
    tqdm.write(line, file=sys.stderr)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def train(cfg: RunConfig, exe: ExecConfig | None = None, *, checkpoints: Path | None = None,
          keep_checkpoint: bool = True, stop_at: int | None = None, label: str | None = None,
          fresh: bool = False) -> Record | None:
    """Train `cfg`; the record, or None when stopped at `stop_at` before the last step.

    With `keep_checkpoint` the run checkpoints under `checkpoints` (default data/checkpoints)
    and resumes from an existing checkpoint of the same training (unless `fresh`: then it
    deletes it and starts from step 0); without, it neither reads nor writes one.
    """
    ckpt = checkpoint_path(cfg, checkpoints) if keep_checkpoint else None
    trainer = Trainer(cfg, exe or ExecConfig(), ckpt, fresh)
    done = trainer.run(stop_at=stop_at)
    return trainer.record(label) if done else None
