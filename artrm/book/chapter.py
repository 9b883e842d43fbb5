"""A notebook's parameters and its runs: checks of the parameters cell, train-or-load from the
results store, and stored runs loaded without ever training (another scale, the study's
further seeds, re-evaluations).

`stored_only` (or the environment variable ARTRM_STORED_ONLY=1, which the test suite sets)
makes a chapter read-only: it renders the stored runs, names the missing ones in one line,
and trains or evaluates nothing.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from artrm.config import ExecConfig, checked
from artrm.data.tasks import task_names
from artrm.errors import ConfigError, check_choice
from artrm.experiments.profiles import PROFILES, Profile, get_profile
from artrm.experiments.study import every_study_config, study_configs, sweep_steps, variant_of
from artrm.models.ladder import model_names, rung
from artrm.results.store import Record, ResultStore
from artrm.run_config import RunConfig
from artrm.running.grid import run_grid
from artrm.training.reevaluate import reevaluate, save_evaluations, stored_evaluation
from artrm.training.runtime import resolve_device

STORED_ONLY_ENV = "ARTRM_STORED_ONLY"
PARAMETERS = ("profile", "device", "tasks", "seeds", "force_retrain", "stored_only")
GPU_NOTE = "they need a GPU: see bench/NOTES.md"


@dataclass(frozen=True)
class Chapter:
    """A notebook's validated parameters."""

    profile: Profile
    device: str
    tasks: tuple[str, ...]
    seeds: tuple[int, ...]
    force_retrain: bool = False
    stored_only: bool = False

    @property
    def train_len(self) -> int:
        return self.profile.data.train_len

    @property
    def study_tasks(self) -> tuple[str, ...]:
        """The chapter's tasks that the profile's corrections study covers."""
        return tuple(t for t in self.tasks if t in self.profile.study_tasks)

    def __str__(self) -> str:
        p = self.profile
        return "\n".join([
            f"profile  {p.name}: {p.description}",
            f"device   {self.device}; tasks {', '.join(self.tasks)}; "
            f"seeds {', '.join(map(str, self.seeds))}",
            f"model    width {p.arch.n_embd}, {p.arch.n_head} heads, budget {p.arch.budget} "
            f"block passes, dropout {p.arch.dropout}",
            f"training {training_steps(p, self.tasks)} of batch {p.optim.batch_size}, "
            f"lr {p.optim.lr}, length {p.data.train_len}, padding {p.data.padding}",
            f"eval     lengths {', '.join(map(str, p.eval.lengths))}, {p.eval.n_problems} "
            f"problems each, {p.eval.decoding} decoding"])


def training_steps(profile: Profile, tasks: tuple[str, ...]) -> str:
    """The optimiser steps of each task, grouped ("1500 steps (copy, reverse), 5000 steps
    (addition)"), or one count for all."""
    by_steps: dict[int, list[str]] = {}
    for task in tasks:
        by_steps.setdefault(profile.task_steps.get(task, profile.optim.steps), []).append(task)
    if len(by_steps) == 1:
        return f"{next(iter(by_steps))} steps"
    return ", ".join(f"{n} steps ({', '.join(ts)})" for n, ts in by_steps.items())


def stored_only_forced() -> bool:
    """Whether ARTRM_STORED_ONLY=1 makes every chapter read-only."""
    value = os.environ.get(STORED_ONLY_ENV, "")
    if value not in ("", "0", "1"):
        raise ConfigError(f"{STORED_ONLY_ENV} must be 1 (train nothing) or 0; got {value!r}")
    return value == "1"


def chapter(profile: str = "cpu", device: str = "cpu", tasks: list[str] | None = None,
            seeds: list[int] | None = None, force_retrain: bool = False,
            stored_only: bool = False) -> Chapter:
    """Check a notebook's parameters; a bad value stops with a message naming it."""
    checked("profile", profile, str, {"choices": tuple(PROFILES)})
    checked("device", device, str, {})
    p = get_profile(profile)
    resolve_device(ExecConfig(device=device).device)
    if tasks is not None:
        if not isinstance(tasks, (list, tuple)) or not tasks or \
                not all(isinstance(t, str) for t in tasks):
            raise ConfigError(f"tasks must be a non-empty list of task names such as "
                              f"[\"copy\"]; got {tasks!r}")
        for task in tasks:
            check_choice("task", task, task_names())
    if seeds is not None and (not isinstance(seeds, (list, tuple)) or not seeds or not all(
            isinstance(s, int) and not isinstance(s, bool) for s in seeds)):
        raise ConfigError(f"seeds must be a non-empty list of integers such as [1337]; got "
                          f"{seeds!r}")
    for name, flag in (("force_retrain", force_retrain), ("stored_only", stored_only)):
        if not isinstance(flag, bool):
            raise ConfigError(f"{name} must be True or False; got {flag!r}")
    stored_only = stored_only or stored_only_forced()
    if force_retrain and stored_only:
        raise ConfigError("force_retrain and stored_only exclude each other (stored_only "
                          f"trains nothing; {STORED_ONLY_ENV}=1 sets it)")
    return Chapter(p, device, tuple(tasks or p.tasks), tuple(seeds or p.seeds), force_retrain,
                   stored_only)


def parameters(namespace: Mapping[str, Any]) -> Chapter:
    """The notebook's Chapter from its namespace: `globals()` in the cell after the parameters
    cell, where papermill's injected values have landed. A name defined there that is not a
    parameter (a misspelt injected one, which papermill only warns about) is refused; the
    values are checked by `chapter`, before any work."""
    hidden = namespace["get_ipython"]().user_ns_hidden if "get_ipython" in namespace else {}
    names = [name for name, value in namespace.items() if not name.startswith("_")
             and name not in hidden and not isinstance(value, ModuleType)]
    for name in names:
        check_choice("notebook parameter", name, PARAMETERS)
    return chapter(**{name: namespace[name] for name in names})


def _names(configs: list[RunConfig]) -> str:
    """Runs grouped by task and seed: "addition s1337: gpt, trm; copy s1338: ut"."""
    groups: dict[str, list[str]] = {}
    for c in configs:
        groups.setdefault(f"{c.task} s{c.seed}", []).append(c.model)
    return "; ".join(f"{key}: {', '.join(models)}" for key, models in groups.items())


def _found(configs: list[RunConfig], label: str, why: str = "") -> list[Record]:
    """The stored records of `configs` (in order), after one line: how many are stored and,
    when some are not, which (and `why`)."""
    store = ResultStore()
    found = [(c, store.find(c)) for c in configs]
    missing = [c for c, r in found if r is None]
    line = f"{label}: {len(configs) - len(missing)} of {len(configs)} runs stored"
    if missing:
        line += f" ({why})"
    if 0 < len(missing) < len(configs):
        line += f"; missing {_names(missing)}"
    print(line)
    return [r for _, r in found if r is not None]


def stored(configs: list[RunConfig], label: str = "paper scale", why: str = GPU_NOTE
           ) -> list[Record]:
    """The stored runs of `configs`, never trained; one line names how many are missing."""
    return _found(configs, label, why)


def train_or_load(ch: Chapter, configs: list[RunConfig]) -> list[Record]:
    """The chapter's runs: loaded when stored, the missing ones trained; with `stored_only`,
    or for a GPU profile (`paper`) on a CPU, the missing ones are named in one line instead."""
    for cfg in configs:
        rung(cfg.model)
    if ch.stored_only:
        return stored(configs, ch.profile.name, "stored_only: not trained here")
    if ch.profile.device == "cuda" and resolve_device(ch.device).type != "cuda":
        return stored(configs, ch.profile.name, GPU_NOTE)
    store = ResultStore()
    todo = configs if ch.force_retrain else [c for c in configs if store.find(c) is None]
    print(f"{ch.profile.name}: {len(configs) - len(todo)} of {len(configs)} runs stored"
          + (f"; training {len(todo)}" if todo else ""))
    if todo:
        run_grid(todo, ExecConfig(device=ch.device, progress=False), store,
                 label=ch.profile.name, force=ch.force_retrain, log=print)
    return [r for c in configs if (r := store.find(c)) is not None]


def with_stored_seeds(ch: Chapter, configs: list[RunConfig], records: list[Record]
                      ) -> list[Record]:
    """`records` (the runs of `configs`) plus the stored runs of the same configs under the
    study's other seeds (loaded, never trained), so an analysis shows every seed it has."""
    store = ResultStore()
    extra = (store.find(c.replace(seed=s)) for c in configs for s in ch.profile.study_seeds
             if s != c.seed)
    out, seen = list(records), {r["config_hash"] for r in records}
    for r in extra:
        if r is not None and r["config_hash"] not in seen:
            out.append(r)
            seen.add(r["config_hash"])
    return out


def study_runs(ch: Chapter) -> list[Record]:
    """The corrections study: trained-or-loaded for the chapter's seeds, plus every stored run
    of the study's other variants and planned seeds (loaded, never trained), so that a partly
    run study shows all it has without training the rest."""
    configs = study_configs(ch.profile, ch.seeds, ch.study_tasks)
    records = train_or_load(ch, configs)
    trained = {c.hash for c in configs}
    store = ResultStore()
    further = (store.find(c) for c in every_study_config(ch.profile, ch.study_tasks)
               if c.hash not in trained)
    return records + [r for r in further if r is not None]


def evaluations(ch: Chapter, records: list[Record], decoding: str = "greedy",
                steps: Callable[[Record], tuple[int | None, ...]] = lambda r: (None,),
                ) -> list[Record]:
    """Make sure every record holds the re-evaluations (`decoding` at the training length, for
    each loop-step count in `steps(record)`), computing missing ones from checkpoints (never
    with `stored_only`); one line counts the runs that lack some."""
    store, out, missing = ResultStore(), [], 0
    for r in records:
        want = [k for k in steps(r) if stored_evaluation(r, decoding, k) is None]
        if want and not ch.stored_only:
            try:
                r = save_evaluations(store, r, reevaluate(r, (ch.train_len,), decoding,
                                                          steps=tuple(want), device=ch.device))
                want = []
            except ConfigError:
                pass
        missing += bool(want)
        out.append(r)
    if missing:
        print(f"{missing} of {len(records)} runs lack {decoding} evaluations (not stored"
              + (", and stored_only computes none)" if ch.stored_only else
                 ", and no checkpoint here)"))
    return out


def sweep_records(ch: Chapter) -> list[Record]:
    """The first seed of every faithful recurrent rung and of the nested rungs with the
    bounded state and with all corrections, with greedy evaluations at loop steps below, at
    and above the trained number."""
    seed = ch.seeds[:1]
    recurrent = [m for m in model_names() if rung(m).tied]
    configs = [ch.profile.config(m, t, s) for m in recurrent for t in ch.study_tasks
               for s in seed]
    records = train_or_load(dataclasses.replace(ch, seeds=seed), configs)
    corrected = [c for c in study_configs(ch.profile, seed, ch.study_tasks)
                 if variant_of(c) in ("state_norm", "all")]
    store = ResultStore()
    records += [r for c in corrected if (r := store.find(c)) is not None]
    return evaluations(ch, records, "greedy", steps=lambda r: sweep_steps(r["plan"]["n_layer"]))


def all_seed_runs(profile: Profile, tasks: tuple[str, ...]) -> list[Record]:
    """Every stored run of the profile's own (faithful) configurations on `tasks`, whatever
    its seed."""
    return [r for r in ResultStore().records()
            if r["model"] in model_names() and r["task"] in tasks
            and profile.config(r["model"], r["task"], r["seed"]).hash == r["config_hash"]]
