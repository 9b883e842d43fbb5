"""The GPU preflight: what the grid's results rely on, checked on the device in about a
minute, before any run starts (stage 1 of bench/gpu.py).

Checks, in order, on models at the configuration the grid trains (seeded, untrained):

1. logits on the device against the CPU in fp32, tf32 and bf16, within TOLERANCE (the
   largest difference over the largest logit); the ACT heads are set to a constant
   halting probability of 0.3 so that rounding cannot move a position's halting step
   (cumulative sums 0.9 and 1.2 straddle the threshold by far);
2. causality on the device: logits up to position t ignore every later token;
3. the KV cache: cached and uncached generation give the same tokens, greedy and sampled
   (fp32), eagerly and with the decode step as a CUDA graph;
4. training: `train_steps` steps of every rung without dropout, eager and as CUDA graphs,
   give the same losses (to AdamW's rounding: the graph's optimiser is `capturable`); one
   rung with dropout shows that replays draw new masks (the same batch and a frozen model
   give a new loss at every step).

A failure of 1, 2 or of eager training stops everything: results would be wrong. A failure
of the KV cache or of CUDA graphs (a wrong token or loss, or any error) switches that
speed-up off for the grid (`kv_cache` or `graphs` false), because the reference paths give
the right results without it. On a CPU
(the test) the same checks run with the device being the CPU, and "graphs" exercises the
sync-free static path.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from artrm import build_model
from artrm.config import ExecConfig
from artrm.data.tasks import eval_problems
from artrm.models.base import ARModel
from artrm.run_config import RunConfig
from artrm.training.generation import Decoder, generate
from artrm.training.graphs import GraphDecoder
from artrm.training.runtime import numerics
from artrm.training.stats import Diverged
from artrm.training.train import Trainer

# largest |logit difference| / largest |logit| against the CPU in fp32; measured on a CPU in
# bf16 autocast at the paper configuration: 5e-3 to 1e-2 (tf32 rounds 8x finer than bf16)
TOLERANCE = {"fp32": 1e-4, "tf32": 1e-2, "bf16": 5e-2}
LOSS_RTOL = 1e-3  # eager against graphed training losses (only AdamW's rounding differs)
HALT_P = 0.3  # the ACT heads' constant halting probability in the logits check


class CheckFailed(Exception):
    """A check failed; the message is the one line to print."""


@dataclass
class Preflight:
    """What the preflight found: every figure, and which speed-ups the grid may use."""

    kv_cache: bool = True
    graphs: bool = True
    failed: str | None = None  # the line that stopped the script
    notes: list[str] = field(default_factory=list)  # speed-ups switched off, and why
    logits: dict[str, dict[str, float]] = field(default_factory=dict)  # rung -> precision -> err
    causality: dict[str, float] = field(default_factory=dict)
    kv: dict[str, dict[str, bool]] = field(default_factory=dict)
    training: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def seeded(cfg: RunConfig, device: torch.device, constant_halting: bool = False) -> ARModel:
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, cfg.arch)
    if constant_halting and hasattr(model, "halt") and model.name != "trm":
        with torch.no_grad():
            model.halt.weight.zero_()
            model.halt.bias.fill_(math.log(HALT_P / (1 - HALT_P)))
    return model.to(device).eval()


def relative_error(a: torch.Tensor, ref: torch.Tensor) -> float:
    return float((a.float().cpu() - ref).abs().max() / ref.abs().max().clamp(min=1e-12))


def text_batch(cfg: RunConfig, n: int, device: torch.device) -> torch.Tensor:
    problems = eval_problems(cfg.task, cfg.data.train_len, n, cfg.seed)
    return problems.text()[:, :-1].to(device)  # (n, T)


@torch.no_grad()
def check_logits(cfgs: list[RunConfig], device: torch.device, precisions: tuple[str, ...],
                 found: Preflight) -> None:
    for cfg in cfgs:
        cpu = seeded(cfg, torch.device("cpu"), constant_halting=True)
        idx = text_batch(cfg, 2, torch.device("cpu"))
        ref = cpu(idx).logits
        model = seeded(cfg, device, constant_halting=True)
        found.logits[cfg.model] = {}
        for precision in precisions:
            with numerics(precision, device):
                err = relative_error(model(idx.to(device)).logits, ref)
            found.logits[cfg.model][precision] = err
            if not err <= TOLERANCE[precision]:
                raise CheckFailed(f"logits: {cfg.model} in {precision} on {device} differ from "
                                  f"the CPU by {err:.2e} of the largest logit (tolerance "
                                  f"{TOLERANCE[precision]:.0e})")


@torch.no_grad()
def check_causality(cfgs: list[RunConfig], device: torch.device, found: Preflight) -> None:
    for cfg in cfgs:
        model = seeded(cfg, device)
        idx = text_batch(cfg, 2, device)
        t = idx.shape[1] // 2
        changed = idx.clone()
        changed[:, t + 1:] = (changed[:, t + 1:] + 1) % cfg.arch.vocab_size
        a, b = model(idx).logits, model(changed).logits
        err = relative_error(b[:, :t + 1], a[:, :t + 1].cpu())
        found.causality[cfg.model] = err
        if err > 1e-5 or torch.equal(a[:, t + 1:], b[:, t + 1:]):
            raise CheckFailed(f"causality: {cfg.model} on {device}: logits up to position {t} "
                              f"move by {err:.2e} when later tokens change")


def _tokens(model: ARModel, prompt: torch.Tensor, n_new: int, decoding: str,
            device: torch.device, cached: bool, decoder: Decoder | None = None
            ) -> torch.Tensor:
    generator = torch.Generator(device=device).manual_seed(5)
    return generate(model, prompt, n_new, decoding, generator, cached, decoder=decoder)


def check_kv_cache(cfgs: list[RunConfig], device: torch.device, use_graphs: bool,
                   found: Preflight) -> None:
    for cfg in cfgs:
        model = seeded(cfg, device)
        problems = eval_problems(cfg.task, cfg.data.train_len, 8, cfg.seed)
        prompt, n_new = problems.prompt.to(device), problems.answer.shape[1]
        result = {}
        for decoding in ("greedy", "sample"):
            run = (model, prompt, n_new, decoding, device)
            reference = _tokens(*run, cached=False)
            result[decoding] = torch.equal(_tokens(*run, cached=True), reference)
            if use_graphs:
                decoder = GraphDecoder(lambda line: None)
                _tokens(*run, cached=True, decoder=decoder)  # captures the decode step
                result[f"{decoding}_graphs"] = decoder.failed is None and torch.equal(
                    _tokens(*run, cached=True, decoder=decoder), reference)
        found.kv[cfg.model] = result
        if found.kv_cache and not (result["greedy"] and result["sample"]):
            found.kv_cache = False
            found.notes.append(f"KV cache off: cached tokens of {cfg.model} differ from the "
                               f"uncached ones")
        if found.graphs and use_graphs and not all(v for k, v in result.items()
                                                    if k.endswith("_graphs")):
            found.graphs = False
            found.notes.append(f"CUDA graphs off: the graphed decode step of {cfg.model} gives "
                               f"other tokens")


def train_losses(cfg: RunConfig, exe: ExecConfig, steps: int,
                 same_batch: bool = False) -> tuple[list[float], str | None]:
    """Losses of `steps` training steps (and the graph's failure, if any)."""
    trainer = Trainer(cfg, exe, None)
    if same_batch:
        fixed = trainer.batch()
        trainer.batch = lambda: fixed  # type: ignore[method-assign]
    for step in range(1, steps + 1):
        trainer.pending.add(step, trainer.train_step())
    trainer.read_stats()
    failed = trainer.graph.failed if trainer.graph is not None else None
    return trainer.progress.curves["loss"], failed


def check_training(cfgs: list[RunConfig], exe: ExecConfig, steps: int,
                   found: Preflight) -> None:
    graphed_exe = dataclasses.replace(exe, graphs=True, sync_free=True)
    eager_exe = dataclasses.replace(exe, graphs=False)
    for cfg in cfgs:
        plain = cfg.replace(arch=dataclasses.replace(cfg.arch, dropout=0.0))
        try:
            eager, _ = train_losses(plain, eager_exe, steps)
        except Diverged as err:
            raise CheckFailed(f"training: {cfg.model} eagerly on {exe.device}: {err}") from None
        entry: dict[str, Any] = {"eager": eager}
        try:
            graphed, failure = train_losses(plain, graphed_exe, steps)
            entry["graphs"] = graphed
            worst = max(abs(a - b) / max(abs(a), 1e-6) for a, b in zip(eager, graphed))
            entry["max_rel_diff"] = worst
            if failure is not None:
                raise CheckFailed(f"capture failed: {failure}")
            if worst > LOSS_RTOL:
                raise CheckFailed(f"graphed losses differ from eager ones by {worst:.1e}")
        except (CheckFailed, Diverged, RuntimeError) as err:
            entry["graphs_failed"] = str(err)
            if found.graphs:
                found.graphs = False
                found.notes.append(f"CUDA graphs off: {cfg.model}: {err}")
        found.training[cfg.model] = entry


def check_dropout_draws(cfg: RunConfig, exe: ExecConfig, found: Preflight) -> None:
    """Replays draw new dropout masks: the same batch on a model that barely moves (lr
    1e-12, dropout 0.1) gives a new loss at every step, graphed as eagerly."""
    frozen = cfg.replace(arch=dataclasses.replace(cfg.arch, dropout=0.1),
                         optim=dataclasses.replace(cfg.optim, lr=1e-12))
    losses, failure = train_losses(frozen, dataclasses.replace(exe, graphs=True,
                                                               sync_free=True), 6, True)
    distinct = len(set(losses)) == len(losses)
    found.training["dropout_draws"] = {"model": cfg.model, "losses": losses,
                                       "distinct": distinct}
    if found.graphs and (failure is not None or not distinct):
        found.graphs = False
        found.notes.append(f"CUDA graphs off: {cfg.model} with dropout replays the same "
                           f"masks" if failure is None else f"CUDA graphs off: {failure}")


def run_preflight(cfgs: list[RunConfig], exe: ExecConfig, device: torch.device,
                  precisions: tuple[str, ...], train_steps: int,
                  log: Any = print) -> Preflight:
    """Every check in order; `failed` holds the line of the first failure that stops."""
    found = Preflight()
    use_graphs = device.type == "cuda"
    # each check, and the switch an unexpected error turns off (None: the error stops)
    stages = [("logits", lambda: check_logits(cfgs, device, precisions, found), None),
              ("causality", lambda: check_causality(cfgs, device, found), None),
              ("kv_cache", lambda: check_kv_cache(cfgs, device, use_graphs, found),
               "kv_cache"),
              ("training", lambda: check_training(cfgs, exe, train_steps, found), None),
              ("dropout", lambda: check_dropout_draws(cfgs[-1], exe, found), "graphs")]
    for name, check, switch in stages:
        t0, status = time.time(), "ok"
        try:
            check()
        except Exception as err:  # noqa: BLE001  one line, whatever went wrong
            line = str(err) if isinstance(err, CheckFailed) else \
                f"{name}: {type(err).__name__}: {err}".splitlines()[0][:300]
            if switch is None or isinstance(err, CheckFailed):
                found.failed = f"preflight failed: {line}"
                log(found.failed)
                return found
            setattr(found, switch, False)
            found.notes.append(f"{switch} off: {line}")
            status = f"{switch} off"
        finally:
            found.seconds[name] = round(time.time() - t0, 2)
        log(f"preflight {name}: {status} ({found.seconds[name]:.1f} s)")
    for note in found.notes:
        log(note)
    return found
