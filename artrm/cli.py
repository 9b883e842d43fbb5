"""`python -m artrm {train,grid,eval,import,migrate,notebooks}`.

The config flags of `train` and `grid` are generated from the config dataclasses (every field
of `ArchConfig`, `DataConfig`, `OptimConfig`, `EvalConfig`, and the seed and precision, with
the field's help text); the configs validate them. Bad input stops with one line naming the
parameter and what is allowed, exit code 2, before anything is written. SIGINT or SIGTERM
stops training with a checkpoint and one line, exit code 130 or 143. A notebook that fails
stops `notebooks` with one line naming it and its failing cell, exit code 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from artrm.config import SECTIONS, ExecConfig, field_types
from artrm.data.tasks import get_task, task_names
from artrm.errors import ConfigError, check_choice, printable
from artrm.experiments import EXPERIMENTS
from artrm.experiments.profiles import PROFILES, Profile, get_profile
from artrm.models.ladder import model_names, rung
from artrm.paths import check_file_writable, checkpoints_dir
from artrm.results.archive import import_archives, pack
from artrm.results.migrate import migrate_store
from artrm.results.store import ResultStore
from artrm.run_config import RunConfig
from artrm.running.budget import report as budget_report
from artrm.running.budget import run_budgeted
from artrm.running.grid import (
    BACKENDS,
    MAX_WORKERS,
    WorkerDied,
    check_feasible,
    run_grid,
    run_or_load,
)
from artrm.running.resources import announcement, check_fits_memory
from artrm.training.reevaluate import reevaluate, save_evaluations
from artrm.training.runtime import check_exec, resolve_device
from artrm.training.train import Interrupted


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        fail(message)


def fail(message: str, code: int = 2) -> NoReturn:
    print(f"artrm: error: {printable(message)}", file=sys.stderr)
    raise SystemExit(code)


# -- flags generated from the config dataclasses ------------------------------------------------
def flag_of(f: dataclasses.Field) -> str:
    return "--" + (f.metadata.get("flag") or f.name).replace("_", "-")


def add_fields(p: argparse.ArgumentParser, cls: type, prefix: str, title: str) -> None:
    """One flag per CLI field of dataclass `cls`; the value lands in `<prefix>.<field>`."""
    group = p.add_argument_group(title)
    hints = field_types(cls)
    for f in dataclasses.fields(cls):
        if not f.metadata.get("cli", True) or "help" not in f.metadata:
            continue
        kind = hints[f.name]
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        base = args[0] if args and typing.get_origin(kind) is not tuple else kind
        options: dict[str, Any] = dict(dest=f"{prefix}.{f.name}", default=None,
                                       help=f.metadata["help"])
        options["metavar"] = ("{" + ",".join(f.metadata["choices"]) + "}"
                              if f.metadata.get("choices") else f.name.upper())
        if base is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(base) is tuple:
            options.update(type=int, nargs="+")
        else:
            options["type"] = base
        group.add_argument(flag_of(f), **options)


def add_config_flags(p: argparse.ArgumentParser) -> None:
    """Overrides of the profile's config: every field, corrections included."""
    run = p.add_argument_group("run")
    for f in dataclasses.fields(RunConfig):
        if f.name in ("seed", "precision"):
            run.add_argument(flag_of(f), dest=f"run.{f.name}", default=None,
                             metavar=f.name.upper(), type=int if f.name == "seed" else str,
                             help=f.metadata["help"])
    for name, cls in SECTIONS.items():
        add_fields(p, cls, name, f"{name} (overrides the profile's {name} config)")


def overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The config flags given: {"arch": {"n_embd": 64}, "run": {"seed": 3}, ...}."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in vars(args).items():
        section, dot, name = key.partition(".")
        if dot and value is not None and section in (*SECTIONS, "run"):
            out.setdefault(section, {})[name] = value
    return out


def apply(cfg: RunConfig, changes: dict[str, dict[str, Any]]) -> RunConfig:
    """`cfg` with the given field changes; the configs validate the result."""
    top = dict(changes.get("run", {}))
    for section in SECTIONS:
        if section in changes:
            top[section] = dataclasses.replace(getattr(cfg, section), **changes[section])
    return cfg.replace(**top) if top else cfg


def add_exec_flags(p: argparse.ArgumentParser) -> None:
    add_fields(p, ExecConfig, "exec", "execution (recorded, not part of the run's identity)")


def exec_config(args: argparse.Namespace, profile: Profile) -> ExecConfig:
    given = {k.split(".", 1)[1]: v for k, v in vars(args).items()
             if k.startswith("exec.") and v is not None}
    return ExecConfig(**{"device": profile.device, **given})


# -- the parser ------------------------------------------------------------------------------
def make_parser() -> Parser:
    parser = Parser(prog="python -m artrm", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    t = sub.add_parser("train", help="train and evaluate one run, store its record")
    t.add_argument("--model", required=True, help=", ".join(model_names()))
    t.add_argument("--task", required=True, help=", ".join(task_names()))
    t.add_argument("--profile", default="cpu", help=", ".join(PROFILES))
    t.add_argument("--label", default=None, help="free-form label kept in the record")
    t.add_argument("--force", action="store_true",
                   help="train again from step 0 even if the run is stored or checkpointed")
    add_config_flags(t)
    add_exec_flags(t)

    g = sub.add_parser("grid", help="models x tasks x seeds of a profile, skipping stored runs")
    g.add_argument("--profile", default="cpu", help=", ".join(PROFILES))
    g.add_argument("--models", nargs="+", default=None, help=", ".join(model_names()))
    g.add_argument("--tasks", nargs="+", default=None, help=", ".join(task_names()))
    g.add_argument("--seeds", type=int, nargs="+", default=None)
    g.add_argument("--force", action="store_true", help="train every run again from step 0")
    g.add_argument("--experiment", default=None, help=", ".join(EXPERIMENTS) + ": the "
                   "ladder, the corrections study (artrm.experiments.study), or the H-L and "
                   "budget analyses (artrm.experiments.sweeps)")
    g.add_argument("--study", action="store_true", help="the same as --experiment study")
    g.add_argument("--workers", type=int, default=1,
                   help="parallel runs: processes sharing the CPU cores, or the GPUs in turn "
                        "(more workers than GPUs share them)")
    g.add_argument("--backend", default="local", help=", ".join(BACKENDS))
    g.add_argument("--time-budget", type=float, default=None, metavar="SECONDS",
                   help="stop cleanly within this many seconds, starting only runs that fit "
                        "(run again to continue)")
    g.add_argument("--export", type=Path, default=None, metavar="ARCHIVE",
                   help="pack the grid's stored records into this .tar.gz")
    g.add_argument("--partial", action="store_true",
                   help="with --time-budget: train runs that cannot finish up to the deadline "
                        "(a later call on the same machine resumes their checkpoints)")
    add_config_flags(g)
    add_exec_flags(g)

    i = sub.add_parser("import", help="merge record archives (from grid --export) into the store")
    i.add_argument("archives", type=Path, nargs="+")
    i.add_argument("--replace", action="store_true",
                   help="replace stored records that differ (default: keep the stored one)")

    m = sub.add_parser("migrate", help="rewrite stored schema-1 records under the current hash")
    m.set_defaults(migrate=True)

    e = sub.add_parser("eval", help="evaluate a trained run at new lengths or decoding")
    e.add_argument("--run", required=True, help="config-hash prefix or record path")
    e.add_argument("--lengths", type=int, nargs="+", default=None)
    e.add_argument("--decoding", default=None, help="sample or greedy")
    e.add_argument("--n-problems", type=int, default=None)
    e.add_argument("--steps", type=int, nargs="+", default=None,
                   help="loop steps at inference (test-time compute); default as trained")
    e.add_argument("--full-compute", action="store_true", help="no early exit (ACT, trm)")
    e.add_argument("--save", action="store_true", help="keep the result in the run's record")
    e.add_argument("--device", default="cpu", help="cpu, cuda[:i] or auto")

    n = sub.add_parser("notebooks", help="execute the book's notebooks with papermill")
    n.add_argument("--profile", default=None, help=", ".join(PROFILES) + " (default: cpu)")
    n.add_argument("--device", default=None, help="cpu, cuda[:i] or auto (default: cpu)")
    n.add_argument("--only", nargs="+", action="extend", default=None, metavar="NAME",
                   help="run only these notebooks (default: all, in book order)")
    n.add_argument("--out", type=Path, default=None,
                   help="folder for the executed notebooks (default: book/chapters)")
    n.add_argument("--stored-only", action="store_true",
                   help="render the stored runs only: no notebook trains or evaluates anything "
                        "(ARTRM_STORED_ONLY=1); missing runs are named in one line")
    n.add_argument("--in-place", action="store_true",
                   help="replace the notebooks in notebooks/ by their executed copies (the "
                        "committed notebooks' outputs), instead of writing to --out")
    n.add_argument("--generate", action="store_true",
                   help="only write the ladder notebooks from their template and "
                        "notebooks/ladder/*.md, book/_toc.yml and the introduction's ladder "
                        "table (executes nothing)")
    return parser


# -- commands --------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> None:
    profile = get_profile(args.profile)
    cfg = apply(profile.config(args.model, args.task, None), overrides(args))
    exe = exec_config(args, profile)
    device = resolve_device(exe.device)
    check_exec(cfg.precision, exe, device)
    store = ResultStore()
    if args.label is not None and not args.force and (
            store.find(cfg) is not None or store.find_training(cfg) is not None):
        raise ConfigError(f"--label applies to a run being trained; run {cfg.hash[:12]} is "
                          f"already trained: add --force to train it again with the label")
    check_feasible(profile, [cfg], device, store, args.force)
    note = announcement(check_fits_memory(cfg, device), device)
    if note and (args.force or store.find(cfg) is None):
        print(note, file=sys.stderr)
    store.tidy()
    record, how = run_or_load(cfg, exe, store, label=args.label, force=args.force)
    source = record.get("derived_from", {}).get("config_hash", "")[:12]
    said = {"loaded": "loaded from the store",
            "re-evaluated": f"re-evaluated the trained weights of run {source} (no training)"}
    print(f"{cfg.model} on {cfg.task} (seed {cfg.seed}, {record['params']:,} parameters): "
          f"{said.get(how, how)}; config {cfg.hash[:12]}")
    print_metrics(record["final"])


def grid_configs(args: argparse.Namespace, profile: Profile) -> list[RunConfig]:
    models = tuple(args.models or ()) or None
    tasks = tuple(args.tasks or ()) or None
    seeds = tuple(args.seeds or ()) or None
    if seeds and getattr(args, "run.seed") is not None:
        raise ConfigError("--seed and --seeds contradict each other: give the seeds with "
                          "--seeds only")
    if args.study and args.experiment not in (None, "study"):
        raise ConfigError(f"--study and --experiment {args.experiment} contradict each "
                          f"other: give one")
    experiment = "study" if args.study else args.experiment or "ladder"
    check_choice("experiment", experiment, EXPERIMENTS)
    for m in models or ():
        rung(m)
    for t in tasks or ():
        get_task(t)
    if experiment == "ladder":
        configs = profile.configs(models, tasks, seeds)
    else:
        configs = EXPERIMENTS[experiment](profile, seeds, tasks)
        for name, chosen in (("models", models), ("tasks", tasks)):
            covered = sorted({getattr(c, name[:-1]) for c in configs})
            for value in chosen or ():
                if value not in covered:
                    raise ConfigError(f"{name}: the {experiment} experiment has no runs of "
                                      f"{value}; it covers {', '.join(covered)}")
        configs = [c for c in configs if (not models or c.model in models)
                   and (not tasks or c.task in tasks)]
    changes = overrides(args)
    return [apply(c, changes) for c in configs]


def cmd_grid(args: argparse.Namespace) -> None:
    profile = get_profile(args.profile)
    configs = grid_configs(args, profile)
    if not 1 <= args.workers <= MAX_WORKERS:
        raise ConfigError(f"workers must lie in [1, {MAX_WORKERS}]; got {args.workers}")
    if args.backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}; got {args.backend!r}")
    if args.time_budget is not None and not 0 < args.time_budget < 1e7:
        raise ConfigError(f"time-budget must be a positive number of seconds; got "
                          f"{args.time_budget}")
    if args.time_budget is not None and (args.force or args.backend != "local"):
        raise ConfigError("--time-budget skips stored runs and runs on the local backend; "
                          "drop --force / --backend ray")
    if args.partial and args.time_budget is None:
        raise ConfigError("--partial applies with --time-budget only")
    if args.export is not None:
        check_file_writable(args.export, "--export")
    exe = exec_config(args, profile)
    device = resolve_device(exe.device)
    for precision in {c.precision for c in configs}:  # before any worker starts
        check_exec(precision, exe, device)
    for cfg in configs:
        check_fits_memory(cfg, device)
    store = ResultStore()
    check_feasible(profile, configs, device, store, args.force)
    store.tidy()
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
    store = ResultStore()
    done = import_archives(args.archives, store, replace=args.replace)
    print(f"imported {len(done.imported)} new records into {store.root}, "
          f"{len(done.present)} already stored, {len(done.replaced)} replaced")


def cmd_migrate(args: argparse.Namespace) -> None:
    store = ResultStore()
    records, checkpoints = migrate_store(store.root, checkpoints_dir())
    print(f"migrated {records} schema-1 records in {store.root} ({checkpoints} checkpoints)")


def cmd_eval(args: argparse.Namespace) -> None:
    store = ResultStore()
    record = store.load(args.run)
    if args.save:  # before the evaluation, which may take long
        if Path(args.run).suffix == ".json" and not store.inside(Path(args.run)):
            raise ConfigError(f"--run {args.run} is outside the store {store.root}; --save keeps "
                              f"evaluations of stored runs only (import the record first, or "
                              f"drop --save)")
        store.check_save(RunConfig.from_dict(record["config"]))
    entries = reevaluate(record, tuple(args.lengths or ()), args.decoding, args.n_problems,
                         tuple(args.steps or (None,)), args.full_compute or None, args.device)
    for entry in entries:
        steps = entry["steps"] or f"{entry['trained_steps']} (as trained)"
        print(f"{record['model']} on {record['task']} (seed {record['seed']}), decoding "
              f"{entry['decoding']}, loop steps {steps}:")
        print_metrics(entry["metrics"])
    if args.save:
        save_evaluations(store, record, entries)


def cmd_notebooks(args: argparse.Namespace) -> None:
    from artrm.book.build.notebooks import CHAPTERS_DIR, NotebookFailed, run_in_place, run_notebooks
    from artrm.book.build.template import generate

    if args.generate:
        given = [flag for flag, value in (("--only", args.only), ("--profile", args.profile),
                                          ("--device", args.device), ("--out", args.out),
                                          ("--stored-only", args.stored_only),
                                          ("--in-place", args.in_place)) if value]
        if given:
            raise ConfigError(f"--generate executes nothing, so {', '.join(given)} would be "
                              f"ignored: drop them")
        for path in generate():
            print(f"wrote {path}")
        return
    if args.in_place and args.out is not None:
        raise ConfigError("--in-place writes to notebooks/; drop --out")
    profile, device = args.profile or "cpu", args.device or "cpu"
    try:
        if args.in_place:
            run_in_place(profile, device, args.only, stored_only=args.stored_only)
        else:
            run_notebooks(profile, device, args.out or CHAPTERS_DIR, args.only,
                          stored_only=args.stored_only)
    except NotebookFailed as err:
        fail(str(err), code=1)


def print_metrics(metrics: dict[str, dict[str, float | None]]) -> None:
    keys = [k for k in ("char_acc", "seq_acc", "first_char_acc", "last_char_acc", "passes")
            if k in next(iter(metrics.values()))]
    print("length  " + "  ".join(f"{k:>14}" for k in keys))
    for length, m in metrics.items():
        print(f"{length:>6}  " + "  ".join(f"{m[k]:>14.3f}" for k in keys))


COMMANDS = {"train": cmd_train, "grid": cmd_grid, "eval": cmd_eval, "import": cmd_import,
            "migrate": cmd_migrate, "notebooks": cmd_notebooks}


def main(argv: Sequence[str] | None = None) -> None:
    args = make_parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except ConfigError as err:
        fail(str(err))
    except Interrupted as err:
        fail(str(err), code=err.exit_code)
    except WorkerDied as err:
        fail(str(err), code=1)
    except KeyboardInterrupt:  # SIGINT outside training (loading, saving): nothing half-written
        fail("interrupted by SIGINT", code=130)
