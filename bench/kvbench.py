"""KV-cached against uncached generation: problems per second and identical tokens.

    python bench/kvbench.py [--models gpt trm] [--length 50] [--problems 100] [--subset 10]

Sampling (the paper's decoding) of addition problems at the paper width (n_embd 384, budget
24, untrained seeded models) on the CPU. The cached path generates all `--problems`; the
uncached one, whose cost grows with the square of the sequence, is timed on the first
`--subset` problems (its problems per second barely depend on the batch at these sizes),
and both generate that subset from one seed to compare the tokens. Writes
bench/results/kv-<machine>-<date>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from artrm import build_model
from artrm.data.tasks import eval_problems
from artrm.experiments.profiles import PAPER
from artrm.training.generation import generate
from bench.machine import machine_info, machine_slug

RESULTS = Path(__file__).resolve().parent / "results"


def timed_generation(model, prompt: torch.Tensor, n_new: int, cached: bool
                     ) -> tuple[torch.Tensor, float]:
    generator = torch.Generator().manual_seed(1337)
    t0 = time.perf_counter()
    tokens = generate(model, prompt, n_new, "sample", generator, cached)
    return tokens, time.perf_counter() - t0


def measure(name: str, length: int, problems: int, subset: int) -> dict:
    torch.manual_seed(1337)
    cfg = PAPER.config(name, "addition")
    model = build_model(name, cfg.arch).eval()
    p = eval_problems("addition", length, problems, cfg.seed)
    n_new = p.answer.shape[1]
    _, cached_all = timed_generation(model, p.prompt, n_new, True)
    cached_sub, cached_sub_s = timed_generation(model, p.prompt[:subset], n_new, True)
    uncached_sub, uncached_sub_s = timed_generation(model, p.prompt[:subset], n_new, False)
    row = {"model": name, "length": length, "prompt": p.prompt.shape[1], "answer": n_new,
           "cached_problems": problems, "cached_s": cached_all,
           "cached_problems_per_s": problems / cached_all,
           "uncached_problems": subset, "uncached_s": uncached_sub_s,
           "uncached_problems_per_s": subset / uncached_sub_s,
           "cached_subset_s": cached_sub_s,
           "identical_tokens": bool(torch.equal(cached_sub, uncached_sub))}
    row["speedup"] = row["cached_problems_per_s"] / row["uncached_problems_per_s"]
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["gpt", "trm"])
    p.add_argument("--length", type=int, default=50)
    p.add_argument("--problems", type=int, default=100)
    p.add_argument("--subset", type=int, default=10)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--note", default="")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    for name in args.models:
        row = measure(name, args.length, args.problems, args.subset)
        rows.append(row)
        print(f"{name:<10} L{args.length}: cached {row['cached_problems_per_s']:.2f} problems/s "
              f"({args.problems}), uncached {row['uncached_problems_per_s']:.3f} "
              f"({args.subset}): {row['speedup']:.1f}x, identical tokens "
              f"{row['identical_tokens']}", flush=True)
    info = machine_info("cpu")
    result = {"machine": info, "threads": torch.get_num_threads(), "note": args.note,
              "loadavg": os.getloadavg(), "rows": rows}
    path = args.out / f"kv-{machine_slug(info)}-{date.today().isoformat()}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
