"""The one GPU command: preflight, benchmark, the paper grid and a summary, within a budget.

    bash bench/gpu.sh [--budget 540] [--workers auto] [--partial] ...   (sets PYTHONPATH, $OUT)

Stages (each figure goes into $OUT/gpu.json, rewritten after every stage):

1. preflight (bench/preflight.py, ~1 min): stops the command at the first failure that
   would make results wrong; switches the KV cache or CUDA graphs off when they fail;
2. benchmark (bench/stepbench.py, ~1 min): s/step of every rung per precision, eager
   against graphs, and 1, 2, 4 processes at once (which sets `--workers auto`);
3. the grid (`artrm.running.budget`): the profile's runs (paper, tf32, seed 1337) in the
   time left, records packed into $OUT/records.tar.gz after every finished run;
4. a summary table, printed last.

The whole command keeps within `--budget` seconds (the device tool allows 600). On a CPU
(`--device cpu --profile smoke`, the test) every stage runs in a reduced form.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from artrm.config import ExecConfig
from artrm.experiments.profiles import PROFILES, get_profile
from artrm.models.ladder import model_names
from artrm.results.store import ResultStore
from artrm.run_config import RunConfig
from artrm.running.budget import Summary, run_budgeted
from artrm.training.runtime import resolve_device
from bench.machine import machine_info
from bench.preflight import Preflight, run_preflight
from bench.stepbench import best_workers, layouts, release, step_table

SUMMARY_RESERVE_S = 10.0  # kept after the grid for packing, the summary and exit
CHECKPOINT_EVERY = 1000  # steps (a stop before the end checkpoints too)


def log(line: str) -> None:
    print(line, flush=True)


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bash bench/gpu.sh", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "gpu-out")))
    p.add_argument("--budget", type=float, default=540.0, help="seconds for everything")
    p.add_argument("--device", default="cuda")
    p.add_argument("--profile", default="paper", help=", ".join(PROFILES))
    p.add_argument("--precision", default=None, help="the grid's (default: tf32 on CUDA)")
    p.add_argument("--models", nargs="+", default=None)
    p.add_argument("--tasks", nargs="+", default=None)
    p.add_argument("--seeds", type=int, nargs="+", default=None)
    p.add_argument("--workers", default="auto", help="grid processes, or auto (the benchmark's)")
    p.add_argument("--partial", action="store_true",
                   help="runs that cannot finish train up to the deadline (a warm machine "
                        "resumes them)")
    p.add_argument("--stages", nargs="+", default=["preflight", "bench", "grid"])
    p.add_argument("--preflight-s", type=float, default=60.0)
    p.add_argument("--bench-s", type=float, default=60.0)
    p.add_argument("--train-steps", type=int, default=20, help="preflight training steps")
    p.add_argument("--bench-steps", type=int, default=10, help="timed steps per measurement")
    p.add_argument("--layouts", type=int, nargs="+", default=[1, 2, 4])
    return p


class Report:
    """Everything measured, written to $OUT/gpu.json after every stage."""

    def __init__(self, out: Path, args: argparse.Namespace, device: torch.device) -> None:
        self.path = out / "gpu.json"
        self.data: dict[str, Any] = {"machine": machine_info(device.type),
                                     "args": {k: str(v) for k, v in vars(args).items()},
                                     "stages": {}}
        self.started = time.time()

    def stage(self, name: str, value: Any) -> None:
        self.data["stages"][name] = value
        self.data["elapsed_s"] = round(time.time() - self.started, 1)
        self.path.write_text(json.dumps(self.data, indent=1, default=str) + "\n")


def grid_stage(cfgs: list[RunConfig], exe: ExecConfig, workers: int, budget_s: float,
               out: Path, partial: bool, label: str) -> tuple[Summary, dict[str, Any]]:
    store = ResultStore()
    summary = run_budgeted(cfgs, exe, store, budget_s, export=out / "records.tar.gz",
                           workers=workers, label=label, partial=partial, log=log,
                           isolate=True)  # fresh processes: nothing left over from stages 1-2
    runs = []
    for cfg in cfgs:
        outcome = summary.outcomes.get(cfg.hash)
        record = store.find(cfg)
        runs.append({"model": cfg.model, "task": cfg.task, "seed": cfg.seed,
                     "config_hash": cfg.hash,
                     "status": ("stored before" if cfg.hash in summary.stored else
                                outcome.status if outcome else
                                f"not started: {summary.not_started.get(cfg.hash, '')}"),
                     "step": outcome.step if outcome else None,
                     "s_per_step": outcome.s_per_step if outcome else None,
                     "wall_time_s": record["provenance"]["wall_time_s"] if record else None,
                     "train_time_s": record["provenance"]["train_time_s"] if record else None,
                     "final_char_acc": ({k: v["char_acc"] for k, v in record["final"].items()}
                                        if record else None)})
    return summary, {"workers": workers, "exec": dataclasses.asdict(exe), "runs": runs,
                     "finished": len(summary.finished),
                     "missing": len(summary.missing(cfgs)),
                     "archive_bytes": summary.archive_bytes}


def summary_table(data: dict[str, Any]) -> str:
    """The figures of every stage as plain-text tables."""
    lines = [f"== summary ({data['elapsed_s']:.0f} s, {data['machine'].get('gpu') or 'cpu'})"]
    pre = data["stages"].get("preflight")
    if pre:
        lines.append(f"preflight: {pre['failed'] or 'passed'}; kv_cache {pre['kv_cache']}, "
                     f"graphs {pre['graphs']}; {sum(pre['seconds'].values()):.0f} s")
        lines += [f"  {n}" for n in pre["notes"]]
        for model, errs in pre["logits"].items():
            lines.append(f"  logits {model:<10} " + "  ".join(f"{p} {e:.1e}"
                                                           for p, e in errs.items()))
    bench = data["stages"].get("bench")
    if bench:
        lines.append("ms/step    " + "".join(f"{f'{p}/{m}':>14}" for p in bench["precisions"]
                                            for m in ("eager", "graphs")))
        by = {(r["model"], r["precision"], r["mode"]): r for r in bench["steps"]}
        for model in dict.fromkeys(r["model"] for r in bench["steps"]):
            cells = []
            for p in bench["precisions"]:
                for m in ("eager", "graphs"):
                    r = by.get((model, p, m), {})
                    cells.append(f"{1000 * r['s_per_step']:14.1f}" if "s_per_step" in r
                                 else f"{'-':>14}")
            lines.append(f"{model:<11}" + "".join(cells))
        lines.append("processes: " + ", ".join(
            f"{x['processes']}: {x['steps_per_s']:.1f} steps/s" if "steps_per_s" in x else
            f"{x['processes']}: {x.get('skipped') or x.get('error')}" for x in bench["layouts"]))
    grid = data["stages"].get("grid")
    if grid:
        lines.append(f"grid ({grid['workers']} workers): {grid['finished']} finished, "
                     f"{grid['missing']} missing")
        for r in grid["runs"]:
            wall = f"{r['wall_time_s']:.0f} s" if r["wall_time_s"] is not None else ""
            rate = f"{1000 * r['s_per_step']:.1f} ms/step" if r["s_per_step"] else ""
            lines.append(f"  {r['model']:<10} {r['task']:<8} {r['status']:<16} {wall:>7} "
                         f"{rate}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    started = time.time()
    deadline = started + args.budget
    device = resolve_device(args.device)
    profile = get_profile(args.profile)
    precision = args.precision or ("tf32" if device.type == "cuda" else "fp32")
    precisions = ("fp32", "tf32", "bf16") if device.type == "cuda" else ("fp32",)
    ordered = (precision,) + tuple(p for p in precisions if p != precision)
    args.out.mkdir(parents=True, exist_ok=True)
    report = Report(args.out, args, device)
    # checkpoints every 1000 steps, not every round: gpt's are ~0.5 GB (weights and AdamW)
    exe = ExecConfig(device=args.device, progress=False, checkpoint_every=CHECKPOINT_EVERY)
    models, tasks = tuple(args.models or model_names()), tuple(args.tasks or profile.tasks)
    task = "addition" if "addition" in tasks else tasks[0]  # the longest text
    probes = [profile.config(m, task).replace(precision=precision) for m in models]
    layout_cfg = next((c for c in probes if c.model == "gpt_level1"), probes[0])
    log(f"gpu.py: {device} ({report.data['machine'].get('gpu') or 'cpu'}), profile "
        f"{profile.name}, {precision}, budget {args.budget:.0f} s")

    found = Preflight()
    if "preflight" in args.stages:
        found = run_preflight(probes, exe, device, precisions, args.train_steps, log)
        report.stage("preflight", dataclasses.asdict(found))
        release(device)
        if found.failed:
            print(summary_table(report.data))
            return 1
    exe = dataclasses.replace(exe, kv_cache=found.kv_cache, graphs=found.graphs)

    workers = 1 if args.workers == "auto" else int(args.workers)
    if "bench" in args.stages:
        stop = min(deadline - SUMMARY_RESERVE_S, time.time() + args.bench_s)
        table_stop = time.time() + 0.55 * (stop - time.time())
        log("benchmark: s/step")
        steps = step_table(probes, exe, ordered, 3, args.bench_steps, table_stop, log)
        release(device)
        log("benchmark: processes at once")
        layout = layouts(layout_cfg, exe, tuple(args.layouts), 3, args.bench_steps, stop, log)
        if args.workers == "auto":
            workers = best_workers(layout)
        report.stage("bench", {"precisions": ordered, "steps": steps, "layouts": layout,
                               "layout_model": layout_cfg.model})

    if "grid" in args.stages:
        left = deadline - time.time() - SUMMARY_RESERVE_S
        cfgs = [c.replace(precision=precision)
                for c in profile.configs(tuple(args.models or ()) or None,
                                         tuple(args.tasks or ()) or None,
                                         tuple(args.seeds or ()) or None)]
        log(f"grid: {len(cfgs)} runs, {workers} workers, {left:.0f} s")
        threads = max(1, (os.cpu_count() or 1) // workers)  # data preparation per worker
        summary, grid = grid_stage(cfgs, dataclasses.replace(exe, threads=threads), workers,
                                   left, args.out, args.partial, profile.name)
        report.stage("grid", grid)
        if summary.errors:
            print(summary_table(report.data))
            return 1
    report.stage("done", {"total_s": round(time.time() - started, 1)})
    print(summary_table(report.data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
