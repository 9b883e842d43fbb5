"""The paper grid's model FLOPs per run and the GPU seconds they predict.

    python bench/predict.py [--rates tf32=150e12 fp32=45e12] [--out bench/results/paper-flops.json]

For every run of the `paper` profile (trimmed padding, the ACT rungs at full compute, as the
sync-free GPU steps run them): training FLOPs, evaluation FLOPs with and without the KV
cache (and their share of training), and predicted seconds at each rate (training plus
cached evaluation). Rates are sustained model FLOP/s, not peaks: an H100 SXM reaches ~150
TFLOP/s in tf32 on matrices of these shapes (2048 x 384 by 384 x 1536 and smaller) and ~45 in
fp32 (67 peak without tensor cores).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from artrm.experiments.profiles import PAPER
from artrm.running.cost import run_flops

RESULTS = Path(__file__).resolve().parent / "results"


def table(rates: dict[str, float]) -> list[dict]:
    rows = []
    for cfg in PAPER.configs():
        f = run_flops(cfg)
        rows.append({"model": cfg.model, "task": cfg.task, "train_pflop": f.train / 1e15,
                     "eval_cached_pflop": f.eval_cached / 1e15,
                     "eval_uncached_pflop": f.eval_uncached / 1e15,
                     "eval_share_cached": f.eval_cached / f.train,
                     "eval_share_uncached": f.eval_uncached / f.train,
                     "seconds": {k: (f.train + f.eval_cached) / r for k, r in rates.items()}})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rates", nargs="*", default=["tf32=150e12", "fp32=45e12"],
                   help="name=sustained FLOP/s")
    p.add_argument("--out", type=Path, default=RESULTS / "paper-flops.json")
    args = p.parse_args()
    rates = {k: float(v) for k, v in (r.split("=") for r in args.rates)}
    rows = table(rates)
    print(f"{'model':<11}{'task':<9}{'train PF':>9}{'eval/train cached':>19}"
          f"{'uncached':>10}" + "".join(f"{k + ' s':>10}" for k in rates))
    for r in rows:
        print(f"{r['model']:<11}{r['task']:<9}{r['train_pflop']:>9.2f}"
              f"{100 * r['eval_share_cached']:>18.2f}%{100 * r['eval_share_uncached']:>9.1f}%"
              + "".join(f"{r['seconds'][k]:>10.1f}" for k in rates))
    totals = {k: sum(r["seconds"][k] for r in rows) for k in rates}
    print("grid: " + ", ".join(f"{k} {s:.0f} s" for k, s in totals.items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rates": rates, "runs": rows, "grid_seconds": totals},
                                   indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
