"""`python -m artrm {train,grid,eval,import,notebooks}`.

Bad input (unknown model, task, profile or device, a non-positive size, a budget that cannot
be met, a length longer than the block allows, an unknown notebook) stops with one line naming
the parameter and what is allowed, exit code 2, before anything is written. A notebook that
fails stops `notebooks` with one line naming it and its failing cell, exit code 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from artrm.archive import import_archives, pack
from artrm.budget import report as budget_report
from artrm.budget import run_budgeted
from artrm.config import PRECISIONS, ExecConfig, RunConfig
from artrm.errors import ConfigError, check_choice
from artrm.grid import BACKENDS, check_feasible, run_grid, run_or_load
from artrm.ladder import MODEL_NAMES
from artrm.profiles import PROFILES, get_profile
from artrm.reevaluate import reevaluate, save_evaluations
from artrm.runtime import check_exec, resolve_device
from artrm.store import ResultStore
from artrm.study import study_configs
from artrm.tasks import TASKS

# CLI flag -> (config section, field); None is the top level of RunConfig
OVERRIDES: dict[str, tuple[str | None, str, type]] = {
    "budget": ("arch", "budget", int), "n_embd": ("arch", "n_embd", int),
    "n_head": ("arch", "n_head", int), "block_size": ("arch", "block_size", int),
    "dropout": ("arch", "dropout", float), "n_outer": ("arch", "n_outer", int),
    "n_inner": ("arch", "n_inner", int), "ponder_weight": ("arch", "ponder_weight", float),
    "train_len": ("data", "train_len", int), "padding": ("data", "padding", str),
    "steps": ("optim", "steps", int), "batch_size": ("optim", "batch_size", int),
    "lr": ("optim", "lr", float), "n_problems": ("eval", "n_problems", int),
    "eval_every": ("eval", "every", int), "decoding": ("eval", "decoding", str),
    "precision": (None, "precision", str),
}


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        fail(message)


def fail(message: str) -> NoReturn:
    print(f"artrm: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}")
    return value


def add_exec_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default=None, help="cpu, cuda[:i] or auto (default: cpu)")
    p.add_argument("--compile", action="store_true", help="torch.compile the block (CUDA)")
    p.add_argument("--fused-adamw", action="store_true", help="fused AdamW (CUDA)")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def make_parser() -> Parser:
    parser = Parser(prog="python -m artrm", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    t = sub.add_parser("train", help="train and evaluate one run, store its record")
    t.add_argument("--model", required=True, help=", ".join(MODEL_NAMES))
    t.add_argument("--task", required=True, help=", ".join(TASKS))
    t.add_argument("--profile", default="cpu", help=", ".join(PROFILES))
    t.add_argument("--seed", type=int, default=None)
    t.add_argument("--lengths", type=positive_int, nargs="+", default=None,
                   help="evaluation lengths")
    t.add_argument("--label", default=None, help="free-form label kept in the record")
    t.add_argument("--force", action="store_true", help="retrain even if the run is stored")
    for flag, (_, _, kind) in OVERRIDES.items():
        t.add_argument("--" + flag.replace("_", "-"), dest=flag, type=kind, default=None)
    add_exec_args(t)

    g = sub.add_parser("grid", help="models x tasks x seeds of a profile, skipping stored runs")
    g.add_argument("--profile", default="cpu", help=", ".join(PROFILES))
    g.add_argument("--models", nargs="+", default=None)
    g.add_argument("--tasks", nargs="+", default=None)
    g.add_argument("--seeds", type=int, nargs="+", default=None)
    g.add_argument("--force", action="store_true")
    g.add_argument("--study", action="store_true",
                   help="the corrections study (artrm.study) instead of the plain ladder")
    g.add_argument("--workers", type=positive_int, default=1,
                   help="parallel runs: processes sharing the CPU cores, or the GPUs in turn "
                        "(more workers than GPUs share them)")
    g.add_argument("--precision", default=None,
                   help="fp32 (the profile's), tf32 or bf16 (CUDA; changes numerics and hash)")
    g.add_argument("--backend", default="local", help="local or ray")
    g.add_argument("--time-budget", type=positive_float, default=None, metavar="SECONDS",
                   help="stop cleanly within this many seconds, starting only runs that fit "
                        "(run again to continue)")
    g.add_argument("--export", type=Path, default=None, metavar="ARCHIVE",
                   help="pack the grid's stored records into this .tar.gz")
    g.add_argument("--partial", action="store_true",
                   help="with --time-budget: train runs that cannot finish up to the deadline "
                        "(a later call on the same machine resumes their checkpoints)")
    add_exec_args(g)

    i = sub.add_parser("import", help="merge record archives (from grid --export) into the store")
    i.add_argument("archives", type=Path, nargs="+")
    i.add_argument("--replace", action="store_true",
                   help="replace stored records that differ (default: keep the stored one)")

    e = sub.add_parser("eval", help="evaluate a trained run at new lengths or decoding")
    e.add_argument("--run", required=True, help="config-hash prefix or record path")
    e.add_argument("--lengths", type=positive_int, nargs="+", default=None)
    e.add_argument("--decoding", default=None, help="sample or greedy")
    e.add_argument("--n-problems", type=positive_int, default=None)
    e.add_argument("--steps", type=positive_int, nargs="+", default=None,
                   help="loop steps at inference (test-time compute); default as trained")
    e.add_argument("--full-compute", action="store_true", help="no early exit (ACT, trm)")
    e.add_argument("--save", action="store_true", help="keep the result in the run's record")
    e.add_argument("--device", default=None)

    n = sub.add_parser("notebooks", help="execute the book's notebooks with papermill")
    n.add_argument("--profile", default="cpu", help=", ".join(PROFILES))
    n.add_argument("--device", default="cpu", help="cpu, cuda[:i] or auto (default: cpu)")
    n.add_argument("--only", nargs="+", action="extend", default=None, metavar="NAME",
                   help="run only these notebooks (default: all, in book order)")
    n.add_argument("--out", type=Path, default=None,
                   help="folder for the executed notebooks (default: book/chapters)")
    return parser


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number; got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number; got {text!r}")
    return value


def exec_config(args: argparse.Namespace, profile_device: str = "cpu") -> ExecConfig:
    return ExecConfig(device=args.device or profile_device, compile=args.compile,
                      fused_adamw=args.fused_adamw, threads=args.threads,
                      progress=not args.no_progress)


def train_config(args: argparse.Namespace) -> RunConfig:
    profile = get_profile(args.profile)
    check_choice("model", args.model, MODEL_NAMES)
    check_choice("task", args.task, TASKS)
    cfg = profile.config(args.model, args.task, args.seed)
    sections: dict[str | None, dict[str, Any]] = {}
    for flag, (section, name, _) in OVERRIDES.items():
        if getattr(args, flag) is not None:
            sections.setdefault(section, {})[name] = getattr(args, flag)
    if args.lengths:
        sections.setdefault("eval", {})["lengths"] = tuple(args.lengths)
    top = sections.pop(None, {})
    for section, changes in sections.items():
        top[section] = dataclasses.replace(getattr(cfg, section), **changes)
    return cfg.replace(**top)


def cmd_train(args: argparse.Namespace) -> None:
    cfg = train_config(args)
    profile = get_profile(args.profile)
    exe = exec_config(args, profile.device)
    store = ResultStore()
    if cfg == profile.config(cfg.model, cfg.task, cfg.seed):
        check_feasible(profile, [cfg], resolve_device(exe.device), store, args.force)
    record, trained = run_or_load(cfg, exe, store, label=args.label, force=args.force)
    print(f"{cfg.model} on {cfg.task} (seed {cfg.seed}, {record['params']:,} parameters): "
          f"{'trained' if trained else 'loaded from the store'}; config {cfg.hash[:12]}")
    print_metrics(record["final"])


def cmd_grid(args: argparse.Namespace) -> None:
    profile = get_profile(args.profile)
    for m in args.models or ():
        check_choice("model", m, MODEL_NAMES)
    for t in args.tasks or ():
        check_choice("task", t, TASKS)
    exe = exec_config(args, profile.device)
    device = resolve_device(exe.device)
    if args.study:
        configs = study_configs(profile, tuple(args.seeds or ()) or None,
                                tuple(args.tasks or ()) or None)
        configs = [c for c in configs if not args.models or c.model in args.models]
    else:
        configs = profile.configs(tuple(args.models or ()) or None,
                                  tuple(args.tasks or ()) or None, tuple(args.seeds or ()) or None)
    if args.precision is not None:
        check_choice("precision", args.precision, PRECISIONS)
        configs = [c.replace(precision=args.precision) for c in configs]
    for precision in {c.precision for c in configs}:  # before any worker starts
        check_exec(precision, exe, device)
    check_choice("backend", args.backend, BACKENDS)
    if args.time_budget is not None and (args.force or args.backend != "local"):
        raise ConfigError("--time-budget skips stored runs and runs on the local backend; "
                          "drop --force / --backend ray")
    if args.partial and args.time_budget is None:
        raise ConfigError("--partial applies with --time-budget only")
    store = ResultStore()
    check_feasible(profile, configs, device, store, args.force)
    if args.time_budget is None:
        run_grid(configs, exe, store, label=profile.name, force=args.force,
                 workers=args.workers, backend=args.backend)
        if args.export is not None:
            records = [r for c in configs if (r := store.find(c)) is not None]
            print(f"archive {args.export}: {pack(records, store, args.export) / 2**20:.2f} MiB")
        return
    summary = run_budgeted(configs, exe, store, args.time_budget, export=args.export,
                           workers=args.workers, label=profile.name, partial=args.partial)
    print(budget_report(configs, summary))
    if summary.errors:
        raise SystemExit(1)


def cmd_import(args: argparse.Namespace) -> None:
    for path in args.archives:
        if not path.is_file():
            raise ConfigError(f"archive {path} does not exist")
    store = ResultStore()
    done = import_archives(args.archives, store, replace=args.replace)
    print(f"imported {len(done.imported)} new records into {store.root}, "
          f"{len(done.present)} already stored, {len(done.replaced)} replaced")


def cmd_eval(args: argparse.Namespace) -> None:
    store = ResultStore()
    try:
        record = store.load(args.run)
    except KeyError as err:
        raise ConfigError(f"--run must name one stored run: {err.args[0]}") from None
    entries = reevaluate(record, tuple(args.lengths or ()), args.decoding, args.n_problems,
                         tuple(args.steps or (None,)), args.full_compute or None,
                         args.device or "cpu")
    for entry in entries:
        steps = entry["steps"] or f"{entry['trained_steps']} (as trained)"
        print(f"{record['model']} on {record['task']} (seed {record['seed']}), decoding "
              f"{entry['decoding']}, loop steps {steps}:")
        print_metrics(entry["metrics"])
    if args.save:
        save_evaluations(store, record, entries)


def cmd_notebooks(args: argparse.Namespace) -> None:
    from artrm.notebooks import CHAPTERS_DIR, NotebookFailed, run_notebooks

    try:
        run_notebooks(args.profile, args.device, args.out or CHAPTERS_DIR, args.only)
    except NotebookFailed as err:
        print(f"artrm: error: {err}", file=sys.stderr)
        raise SystemExit(1) from None


def print_metrics(metrics: dict[str, dict[str, float | None]]) -> None:
    keys = [k for k in ("char_acc", "seq_acc", "first_char_acc", "last_char_acc", "passes")
            if k in next(iter(metrics.values()))]
    print("length  " + "  ".join(f"{k:>14}" for k in keys))
    for length, m in metrics.items():
        print(f"{length:>6}  " + "  ".join(f"{m[k]:>14.3f}" for k in keys))


COMMANDS = {"train": cmd_train, "grid": cmd_grid, "eval": cmd_eval, "import": cmd_import,
            "notebooks": cmd_notebooks}


def main(argv: Sequence[str] | None = None) -> None:
    args = make_parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except ConfigError as err:
        fail(str(err))
