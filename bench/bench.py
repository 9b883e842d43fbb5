"""The artrm speed benchmark: one command prints the tables and writes them, with the machine,
versions and commit, to bench/results/<machine>-<date>.json (plus the scaling figure).

    python bench/bench.py                  # the full benchmark on the CPU
    python bench/bench.py --quick          # a few minutes: development and checks
    python bench/bench.py --device cuda    # on a GPU: fp32 and bf16, concurrency on one GPU

Every measurement runs in a fresh process (`bench/measure.py`). See bench/NOTES.md for what
each number means and for the measurements taken so far.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from artrm.config import PRECISIONS  # noqa: E402
from artrm.data.tasks import task_names  # noqa: E402
from artrm.errors import ConfigError, check_choice  # noqa: E402
from artrm.models.ladder import model_names  # noqa: E402
from artrm.training.runtime import resolve_device  # noqa: E402
from bench import plan, report  # noqa: E402
from bench.figures import scaling_figure  # noqa: E402
from bench.machine import machine_info, machine_slug  # noqa: E402
from bench.runner import MeasureError, run_in_process, run_together  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        fail(message)


def fail(message: str) -> NoReturn:
    print(f"bench: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def make_parser() -> Parser:
    p = Parser(prog="python bench/bench.py", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer steps, configs and points")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--models", nargs="+", default=list(model_names()))
    p.add_argument("--configs", nargs="+", default=None, help=", ".join(plan.CONFIGS))
    p.add_argument("--task", default="addition", help="the longest text at L=10")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first")
    p.add_argument("--steps", type=int, default=None, help="timed steps, paper configs")
    p.add_argument("--cheap-steps", type=int, default=None, help="timed steps, cpu/smoke")
    p.add_argument("--eval-problems", type=int, default=None)
    p.add_argument("--precisions", nargs="+", default=None, help="CUDA: fp32 tf32 bf16")
    p.add_argument("--compile", action="store_true", help="torch.compile the block (CUDA)")
    p.add_argument("--fused-adamw", action="store_true", help="fused AdamW (CUDA)")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads of each measurement (default: torch's, all cores)")
    p.add_argument("--act", default="full", help="full: ACT rungs run every step; as-is")
    p.add_argument("--no-scaling", action="store_true", help="skip the scaling sweeps")
    p.add_argument("--scaling-models", nargs="+", default=["gpt_level1", "gpt"])
    p.add_argument("--no-concurrency", action="store_true", help="skip the layouts")
    p.add_argument("--concurrency-models", nargs="+", default=["trm", "gpt"])
    p.add_argument("--out", type=Path, default=RESULTS, help="folder of the results")
    p.add_argument("--note", default="", help="kept in the JSON (e.g. 'contended')")
    return p


# defaults per (device, --quick): the paper configurations are slow on a CPU
DEFAULTS: dict[tuple[str, bool], dict[str, Any]] = {
    ("cpu", False): dict(configs=("paper", "paper-trim", "cpu"), warmup=1, steps=3,
                         cheap_steps=20, eval_problems=32, scaling_arch="paper"),
    ("cpu", True): dict(configs=("paper-trim", "cpu"), warmup=1, steps=2, cheap_steps=5,
                        eval_problems=16, scaling_arch="cpu"),
    ("cuda", False): dict(configs=("paper", "paper-trim"), warmup=5, steps=20, cheap_steps=50,
                          eval_problems=100, scaling_arch="paper"),
    ("cuda", True): dict(configs=("paper", "paper-trim"), warmup=2, steps=5, cheap_steps=10,
                         eval_problems=100, scaling_arch="paper"),
}


def settings(args: argparse.Namespace) -> plan.Settings:
    """Validated settings; the defaults depend on the device and on --quick."""
    check_choice("device", args.device, ("cpu", "cuda"))
    resolve_device(args.device)  # a clear error when CUDA is missing
    for m in args.models + args.scaling_models + args.concurrency_models:
        check_choice("model", m, model_names())
    check_choice("task", args.task, task_names())
    check_choice("act", args.act, ("full", "as-is"))
    cuda = args.device == "cuda"
    default = DEFAULTS[(args.device, args.quick)]
    configs = tuple(args.configs or default["configs"])
    for c in configs:
        check_choice("config", c, plan.CONFIGS)
    precisions = tuple(args.precisions or (("fp32", "bf16") if cuda else ("fp32",)))
    for p in precisions:
        check_choice("precision", p, PRECISIONS if cuda else ("fp32",))
    counts = {}
    for name in ("warmup", "steps", "cheap_steps", "eval_problems"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "warmup" else 1):
            raise ConfigError(f"{name} must be {'zero or ' if name == 'warmup' else ''}"
                              f"positive; got {value}")
        counts[name] = default[name] if value is None else value
    if args.threads is not None and args.threads < 1:
        raise ConfigError(f"threads must be positive; got {args.threads}")
    cores = os.cpu_count() or 1
    return plan.Settings(
        device=args.device, quick=args.quick, models=tuple(args.models), configs=configs,
        task=args.task, **counts, precisions=precisions, compile=args.compile,
        fused_adamw=args.fused_adamw, threads=args.threads, act=args.act,
        scaling_arch=None if args.no_scaling else default["scaling_arch"],
        scaling_models=tuple(args.scaling_models),
        budgets=(6, 24) if args.quick else (6, 12, 24, 48),
        lengths=(10, 30) if args.quick else (10, 20, 30, 40, 50),
        concurrency_models=() if args.no_concurrency else tuple(args.concurrency_models),
        layouts=((1, None), (2, None), (4, None)) if cuda else ((1, cores), (cores, 1)))


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_specs(s: plan.Settings, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """On a CPU one process per measurement (its max RSS is that measurement's peak); on a
    GPU one process per model (CUDA peak memory is reset per measurement)."""
    groups: list[list[dict[str, Any]]] = []
    if s.device == "cpu":
        groups = [[spec] for spec in specs]
    else:
        by_model: dict[str, list[dict[str, Any]]] = {}
        for spec in specs:
            by_model.setdefault(spec["config"]["model"], []).append(spec)
        groups = list(by_model.values())
    results = []
    for group in groups:
        for r in run_in_process(group):
            log(f"  {r['model']:<10} {r['label']:<16} {r['s_per_step']:8.3f} s/step")
            results.append(r)
    return results


def benchmark(s: plan.Settings, note: str) -> dict[str, Any]:
    started = time.time()
    load_start = os.getloadavg()
    log(f"peak matmul rate on {s.device} ...")
    peak = run_in_process([{"kind": "peak", "device": s.device, "quick": s.quick,
                            "threads": s.threads}])[0]
    log(f"  {', '.join(f'{k} {v / 1e9:,.1f} GFLOP/s' for k, v in peak['flop_rate'].items())}")
    log("training steps and evaluation ...")
    main = run_specs(s, plan.main_specs(s))
    log("scaling sweeps ...")
    scaling = run_specs(s, plan.scaling_specs(s))
    groups = []
    for model in s.concurrency_models:
        for processes, threads in s.layouts:
            log(f"layout {processes} processes x {threads or 'default'} threads, {model} ...")
            groups.append(run_together(plan.layout_specs(s, model, processes, threads)))
    for r in main + scaling + [r for g in groups for r in g]:
        report.enrich(r, peak["flop_rate"], s.device)
    return {
        "machine": machine_info(s.device), "settings": dataclasses.asdict(s), "note": note,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
        "wall_s": round(time.time() - started, 1),
        "loadavg": {"start": load_start, "end": os.getloadavg()},
        "peak_flop_rate": peak["flop_rate"], "peak_threads": peak["threads"],
        "reference_s_per_step": plan.REFERENCE_S_PER_STEP,
        "train": main, "scaling": report.scaling_summary(scaling), "scaling_runs": scaling,
        "layouts": report.layout_summary(groups),
    }


def output_path(folder: Path, slug: str) -> Path:
    stem, n = f"{slug}-{date.today().isoformat()}", 1
    while (path := folder / f"{stem}{'' if n == 1 else f'-{n}'}.json").exists():
        n += 1
    return path


def main(argv: list[str] | None = None) -> None:
    args = make_parser().parse_args(argv)
    try:
        s = settings(args)
    except ConfigError as err:
        fail(str(err))
    try:
        result = benchmark(s, args.note)
    except MeasureError as err:
        print(f"bench: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    path = output_path(args.out, machine_slug(result["machine"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    if result["scaling"]:
        machine = result["machine"]["gpu"] or result["machine"]["cpu"]
        note = f", {args.note}" if args.note else ""
        scaling_figure(result["scaling"], f"{machine} ({s.scaling_arch} width, trimmed{note})",
                       path.with_suffix(".png"))
    for title, table in (("training", report.train_table(result["train"])),
                         ("evaluation (problems per second)", report.eval_table(result["train"])),
                         ("scaling (seconds per step)", report.scaling_table(result["scaling"])),
                         ("processes at once", report.layout_table(result["layouts"]))):
        if table:
            print(f"\n== {title}\n{table}")
    print(f"\nwrote {path} ({result['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
