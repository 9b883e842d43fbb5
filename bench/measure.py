"""One benchmark process: `python -m bench.measure < specs.json` prints a JSON list of results.

The benchmark runs its measurements in fresh processes so that the process's peak memory
belongs to one measurement (on a CPU) and thread settings never leak between them. A spec
is one of:

    {"kind": "peak", "device": "cpu", "threads": 2, "quick": false}
    {"kind": "train", "label": ..., "config": RunConfig dict, "exec": ExecConfig dict,
     "warmup": 1, "steps": 3, "eval_length": 10 or null, "eval_problems": 100,
     "barrier": folder or null, "rank": 0, "world": 1}

Concurrent processes (the concurrency layouts) share a file barrier, so that each one times
its steps while all the others are stepping too.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from artrm.config import ExecConfig
from artrm.data.tasks import Problems, eval_problems, text_length
from artrm.run_config import RunConfig
from artrm.running.cost import train_step_flops
from artrm.training.evaluate import evaluate, teacher_forced_argmax
from artrm.training.runtime import numerics
from artrm.training.train import Trainer
from bench.peak import peak_rates, sync

MIB = 2**20


def resident_mib(device: torch.device) -> float:
    """What the process holds now: CPU resident set, or CUDA memory allocated by torch."""
    if device.type == "cuda":
        return torch.cuda.memory_allocated(device) / MIB
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() / MIB


def peak_mib(device: torch.device) -> float:
    """Peak since the last reset: CPU max RSS of the process, or CUDA max allocated."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / MIB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def barrier(spec: dict[str, Any], name: str, trainer: Trainer | None = None) -> None:
    """Wait until every process of the layout has reached `name`; keep training meanwhile
    when `trainer` is given (so the others still time a fully loaded machine)."""
    if not spec.get("barrier"):
        return
    folder = Path(spec["barrier"])
    (folder / f"{name}-{spec['rank']}").touch()
    while len(list(folder.glob(f"{name}-*"))) < spec["world"]:
        if trainer is not None:
            trainer.train_step()
        else:
            time.sleep(0.02)


def sequence_length(cfg: RunConfig) -> int:
    """Positions per training sequence: the block, or the trimmed text (inputs drop one)."""
    if cfg.data.padding == "block":
        return cfg.arch.block_size
    return text_length(cfg.task, cfg.data.train_len) - 1


def timed(device: torch.device, fn: Any, *args: Any) -> float:
    """Seconds of fn(*args), the device's queued work included."""
    sync(device)
    t0 = time.perf_counter()
    fn(*args)
    sync(device)
    return time.perf_counter() - t0


def measure_eval(trainer: Trainer, length: int, n: int) -> dict[str, Any]:
    """Problems per second of the evaluation at `length`: sampling; greedy with the untrained
    model (nearly every answer wrong, so nearly every problem is generated after the one
    pass: the worst case); and the one teacher-forced pass alone (greedy's cost when every
    answer is right). Each is warmed up on two problems first."""
    cfg, model, device = trainer.cfg, trainer.model, trainer.device
    problems = eval_problems(cfg.task, length, n, cfg.seed)
    problems = Problems(problems.task, length, problems.prompt.to(device),
                        problems.answer.to(device))

    def run(count: int, decoding: str) -> None:
        evaluate(model, cfg.task, (length,), count, cfg.seed, decoding)

    def one_pass(count: int, _: str) -> None:
        model.eval()
        teacher_forced_argmax(model, problems[:count])
        model.train()

    out: dict[str, Any] = {"length": length, "problems": n}
    with numerics(cfg.precision, device):
        for key, fn, decoding in (("sample", run, "sample"), ("greedy_all_wrong", run, "greedy"),
                                  ("one_pass", one_pass, "greedy")):
            fn(2, decoding)
            seconds = timed(device, fn, n, decoding)
            out[key] = {"seconds": seconds, "problems_per_s": n / seconds}
        model.eval()
        wrong = (teacher_forced_argmax(model, problems) != problems.answer).any(dim=1)
        model.train()
    out["greedy_all_wrong"]["generated_fraction"] = float(wrong.float().mean())
    return out


def measure_train(spec: dict[str, Any]) -> dict[str, Any]:
    cfg = RunConfig.from_dict(spec["config"])
    trainer = Trainer(cfg, ExecConfig(**spec["exec"]), None)
    device = trainer.device
    resident = resident_mib(device)
    for _ in range(spec["warmup"]):
        trainer.train_step()
    barrier(spec, "ready")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times, forward, backward = [], [], []
    for _ in range(spec["steps"]):
        stats: dict[str, float] = {}
        times.append(timed(device, lambda out: out.update(trainer.train_step()), stats))
        forward.append(float(stats["passes_forward"]))
        backward.append(float(stats["passes_backward"]))
    peak = peak_mib(device)
    barrier(spec, "done", trainer)
    length, batch = sequence_length(cfg), cfg.optim.batch_size
    s_per_step = statistics.median(times)
    flops = train_step_flops(cfg.arch.n_embd, batch, length, statistics.mean(forward),
                             statistics.mean(backward))
    result = {
        "kind": "train", "label": spec["label"], "model": cfg.model, "task": cfg.task,
        "config_hash": cfg.hash, "exec": spec["exec"], "precision": cfg.precision,
        "padding": cfg.data.padding, "n_embd": cfg.arch.n_embd, "budget": cfg.arch.budget,
        "train_len": cfg.data.train_len, "batch": batch, "positions": length,
        "threads": torch.get_num_threads(), "rank": spec.get("rank", 0),
        "world": spec.get("world", 1), "step_times": times, "s_per_step": s_per_step,
        "tokens_per_s": batch * length / s_per_step,
        "passes_forward": statistics.mean(forward), "passes_backward": statistics.mean(backward),
        "flops": {"matmul": flops.matmul, "attention": flops.attention, "total": flops.total},
        "flop_rate": flops.total / s_per_step,
        "memory_mib": {"resident_before": resident, "peak": peak},
    }
    if spec.get("eval_length"):
        result["eval"] = measure_eval(trainer, spec["eval_length"], spec["eval_problems"])
    return result


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    if spec["kind"] == "peak":
        if spec.get("threads"):
            torch.set_num_threads(spec["threads"])
        device = torch.device(spec["device"])
        return {"kind": "peak", "threads": torch.get_num_threads(),
                "flop_rate": peak_rates(device, spec["quick"])}
    return measure_train(spec)


def main() -> None:
    specs = json.loads(sys.stdin.read())
    results = [measure(spec) for spec in specs]
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    main()
