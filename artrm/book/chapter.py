"""What the book's notebooks call, so that no model code lives in a cell: parameter checks,
train-or-load from the results store, and the sanity checks of a rung."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import torch

from artrm.config import ArchConfig, ExecConfig
from artrm.errors import ConfigError, check_choice
from artrm.running.grid import check_feasible, run_grid
from artrm.registry import accepting, model_names, rung
from artrm.models import ARModel, build_model
from artrm.book.paper import L10_CHAR_ACC, PARAMS, reported
from artrm.experiments.profiles import PROFILES, Profile, get_profile
from artrm.training.reevaluate import reevaluate, save_evaluations, stored_evaluation
from artrm.book.report import paired_difference
from artrm.training.runtime import resolve_device
from artrm.results.store import Record, ResultStore
from artrm.experiments.study import (
    BASELINES,
    FIXES_OF,
    every_study_config,
    study_configs,
    sweep_steps,
    variant_of,
)
from artrm.data.tasks import (
    IGNORE,
    task_names,
    TrainStream,
    decode,
    eval_problems,
    get_task,
    lm_batch,
    text_length,
)


@dataclass(frozen=True)
class Chapter:
    """A notebook's validated parameters."""

    profile: Profile
    device: str
    tasks: tuple[str, ...]
    seeds: tuple[int, ...]
    force_retrain: bool = False

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
            f"training {p.optim.steps} steps of batch {p.optim.batch_size}, lr {p.optim.lr}, "
            f"length {p.data.train_len}, padding {p.data.padding}",
            f"eval     lengths {', '.join(map(str, p.eval.lengths))}, {p.eval.n_problems} "
            f"problems each, {p.eval.decoding} decoding"])


def chapter(profile: str = "cpu", device: str = "cpu", tasks: list[str] | None = None,
            seeds: list[int] | None = None, force_retrain: bool = False) -> Chapter:
    """Check a notebook's parameters; a bad value stops with a message naming it."""
    for name, value in (("profile", profile), ("device", device)):
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a string such as \"cpu\"; got {value!r}")
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
    if not isinstance(force_retrain, bool):
        raise ConfigError(f"force_retrain must be True or False; got {force_retrain!r}")
    return Chapter(p, device, tuple(tasks or p.tasks), tuple(seeds or p.seeds), force_retrain)


def runs(ch: Chapter, models: list[str]) -> list[Record]:
    """The chapter's runs: loaded from the results store when their config matches,
    trained otherwise (refused for a GPU profile on a CPU)."""
    for m in models:
        check_choice("model", m, model_names())
    configs = ch.profile.configs(tuple(models), ch.tasks, ch.seeds)
    store = ResultStore()
    device = resolve_device(ch.device)
    check_feasible(ch.profile, configs, device, store, ch.force_retrain)
    exe = ExecConfig(device=ch.device, progress=False)
    return run_grid(configs, exe, store, label=ch.profile.name, force=ch.force_retrain,
                    log=print)


def study_runs(ch: Chapter) -> list[Record]:
    """The corrections study: trained-or-loaded for the chapter's seeds, plus every stored run
    of the study's other variants and planned seeds (loaded, never trained), so that a partly
    run study shows all it has without training the rest."""
    configs = study_configs(ch.profile, ch.seeds, ch.study_tasks)
    store = ResultStore()
    check_feasible(ch.profile, configs, resolve_device(ch.device), store, ch.force_retrain)
    exe = ExecConfig(device=ch.device, progress=False)
    records = run_grid(configs, exe, store, label=f"{ch.profile.name}-study",
                       force=ch.force_retrain, log=lambda line: None)
    trained = {c.hash for c in configs}
    stored = (store.find(c) for c in every_study_config(ch.profile, ch.study_tasks)
              if c.hash not in trained)
    return records + [r for r in stored if r is not None]


def evaluations(ch: Chapter, records: list[Record], decoding: str = "greedy",
                steps: Callable[[Record], tuple[int | None, ...]] = lambda r: (None,),
                ) -> list[Record]:
    """Make sure every record holds the re-evaluations (`decoding` at the training length, for
    each loop-step count in `steps(record)`), computing missing ones from checkpoints."""
    store, out, missing = ResultStore(), [], 0
    length = (ch.profile.data.train_len,)
    for r in records:
        want = [k for k in steps(r) if stored_evaluation(r, decoding, k) is None]
        if want:
            try:
                r = save_evaluations(store, r, reevaluate(r, length, decoding, steps=tuple(want),
                                                          device=ch.device))
            except ConfigError:
                missing += 1
        out.append(r)
    if missing:
        print(f"{missing} runs have neither these evaluations stored nor a checkpoint here")
    return out


def build(ch: Chapter, model: str, seed: int = 0) -> ARModel:
    torch.manual_seed(seed)
    return build_model(model, ch.profile.arch)


def describe(model: ARModel) -> pd.DataFrame:
    """The loop plan, block passes and parameters of a built model."""
    p = model.plan
    with torch.device("meta"):
        paper_params = build_model(model.name).num_parameters()
    return pd.DataFrame({rung(model.name).display: {
        "loop steps N": p.n_layer,
        "passes per step": p.passes_per_step,
        "H x L": f"{p.n_outer} x {p.n_inner}" if model.nested else "-",
        "nominal block passes": p.nominal_passes,
        "parameters (this profile)": f"{model.num_parameters():,}",
        "parameters (paper configuration)": f"{paper_params:,}",
        "parameters (the paper reports)": reported(PARAMS, model.name),
    }})


def causality_gap(model: ARModel, length: int = 24, cut: int = 10, seed: int = 0) -> float:
    """Largest change of any logit at positions <= `cut` when every later token changes."""
    length = min(length, model.arch.block_size)
    cut = min(cut, length - 2)
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, 14, (4, length), generator=g)
    changed = idx.clone()
    changed[:, cut + 1:] = torch.randint(0, 14, (4, length - cut - 1), generator=g)
    was = model.training
    model.eval()
    with torch.no_grad():
        gap = (model(idx).logits[:, :cut + 1] - model(changed).logits[:, :cut + 1]).abs().max()
    model.train(was)
    return float(gap)


def counted_passes(ch: Chapter, model: ARModel, task: str = "addition") -> pd.DataFrame:
    """Block passes counted by hooks on one training batch: forward, forward with a graph,
    and backward (the passes the loss gradient reaches)."""
    batch = TrainStream(task, ch.profile.data.train_len, 8, seed=0).next()
    model.train()
    out = model(*lm_batch(batch, ch.profile.arch.block_size, ch.profile.data.padding))
    out.loss.backward()
    model.zero_grad(set_to_none=True)
    c = model.passes
    return pd.DataFrame({"block passes": {
        "nominal": model.plan.nominal_passes, "forward (counted)": c.forward,
        "forward with an autograd graph": c.forward_grad, "backward (counted)": c.backward}})


def versus(final: pd.DataFrame, model: str, previous: str | None, length: int = 10
           ) -> pd.DataFrame:
    """This rung against the previous one, ours and the paper's, L10 char accuracy per task."""
    df = final[final["length"] == length]
    rows = []
    for task in task_names():
        row: dict[str, object] = {"task": task}
        for m, name in ((model, "this rung"), (previous, "previous rung")):
            if m is None:
                continue
            ours = df[(df["task"] == task) & (df["model"] == m)]["char_acc"]
            ref = L10_CHAR_ACC.get((m, task))
            row[f"{name}: ours"] = round(float(ours.mean()), 3) if len(ours) else None
            row[f"{name}: paper"] = ref.value if ref else None
        rows.append(row)
    return pd.DataFrame(rows).set_index("task")


def ladder_table(budget: int = 24) -> pd.DataFrame:
    """The seven rungs at a budget: what each changes, its loop plan and its parameters at
    the paper's width (computed on the meta device), next to the count the paper reports."""
    rows = []
    for i, name in enumerate(model_names(), 1):
        arch = ArchConfig(budget=budget)
        with torch.device("meta"):
            model = build_model(name, arch)
        p = model.plan
        rows.append({"rung": i, "model": name, "name": rung(name).display,
                     "group": rung(name).group, "change": rung(name).change,
                     "N": p.n_layer, "H x L": f"{p.n_outer} x {p.n_inner}"
                     if model.nested else "-",
                     "passes": p.nominal_passes, "parameters": f"{model.num_parameters():,}",
                     "paper": reported(PARAMS, name) if budget == 24 else "-"})
    return pd.DataFrame(rows).set_index("rung")


def budget_table(budgets: tuple[int, ...] = (6, 12, 24, 48)) -> pd.DataFrame:
    """Loop plans (N, or N x H(L+1) for the nested rungs) chosen for each budget."""
    rows = {}
    for name in model_names():
        cells = {}
        for b in budgets:
            p = rung(name).loop_plan(ArchConfig(budget=b))
            cells[f"B={b}"] = (f"{p.n_layer} x {p.passes_per_step} (H={p.n_outer}, L={p.n_inner})"
                               if rung(name).nested else
                               f"{p.n_layer} x {p.passes_per_step}")
        rows[rung(name).display] = cells
    return pd.DataFrame(rows).T


def task_samples(length: int = 10, n: int = 2, seed: int = 1337) -> str:
    """Training problems of each task as the model reads them (newline shown as $), with a
    `^` under every position whose next-token target is in the loss."""
    lines = []
    for task in task_names():
        problems = TrainStream(task, length, n, seed).next()
        inputs, targets = lm_batch(problems, text_length(task, length), "trim")
        for i in range(n):
            supervised = targets[i] != IGNORE
            lines.append(f"{task:<9} input  {decode(inputs[i]).replace(chr(10), '$')}")
            lines.append(f"{'':<9} loss   {''.join('^' if s else ' ' for s in supervised)}"
                         f"  ({int(supervised.sum())} targets)")
    return "\n".join(lines)


def overlap_check(length: int = 3, batches: int = 200, seed: int = 1337) -> pd.DataFrame:
    """How many evaluation problems also appear in the first training batches, per task,
    at a length short enough for collisions to be likely if the sets were not disjoint."""
    rows = []
    for task in task_names():
        stream = TrainStream(task, length, 64, seed)
        seen = {tuple(r) for _ in range(batches) for r in stream.next().prompt.tolist()}
        evals = {tuple(r) for r in eval_problems(task, length, 100, seed).prompt.tolist()}
        space = 10 ** get_task(task).operand_digits(length)
        rows.append({"task": task, "length": length, "possible problems": space,
                     "distinct training problems seen": len(seen),
                     "distinct evaluation problems": len(evals),
                     "in both": len(seen & evals)})
    return pd.DataFrame(rows).set_index("task")


def switches_table() -> pd.DataFrame:
    """Every correction switch, its faithful default and the rungs it applies to."""
    rows = [{"switch": f.name, "faithful default": repr(f.default),
             "applies to": ", ".join(accepting(f.name) if f.metadata["rung_specific"]
                                     else model_names()),
             "what it does": f.metadata["help"]}
            for f in dataclasses.fields(ArchConfig) if f.metadata["correction"]]
    return pd.DataFrame(rows).set_index("switch")


def study_differences(df: pd.DataFrame) -> pd.DataFrame:
    """Every corrected variant of trm and ut_level2 against its faithful model, paired by
    seed, at the training length of `df` (one row per task x model x variant)."""
    rows = []
    for (task, model), group in df.groupby(["task", "model"], observed=True):
        if model not in FIXES_OF:
            continue
        base = group[group["variant"] == "faithful"]
        for variant in [v for v in group["variant"].unique() if v != "faithful"]:
            d = paired_difference(group, {"variant": variant}, {"variant": "faithful"})
            rows.append({"task": task, "model": model, "variant": variant,
                         "faithful": base["char_acc"].mean(),
                         "corrected": group[group["variant"] == variant]["char_acc"].mean(),
                         **d})
    return _rounded(rows)


def study_gaps(df: pd.DataFrame) -> pd.DataFrame:
    """The nested rungs (faithful and fully corrected) against Dense and Dual UT, paired by
    seed, per task."""
    rows = []
    for task, group in df.groupby("task", observed=True):
        for model in FIXES_OF:
            for variant in ("faithful", "all"):
                for baseline in BASELINES:
                    d = paired_difference(group, {"model": model, "variant": variant},
                                          {"model": baseline, "variant": "faithful"})
                    rows.append({"task": task, "model": f"{model} ({variant})",
                                 "minus": baseline, **d})
    return _rounded(rows)


def study_learned(df: pd.DataFrame, threshold: float = 0.9) -> pd.DataFrame:
    """How many seeds of each model x variant learned each task ("k/n": character accuracy at
    least `threshold`). Outcomes here are bimodal (a run learns the task or stays at chance),
    so this count says more than a mean over few seeds."""
    def count(x: pd.Series) -> str:
        return f"{int((x >= threshold).sum())}/{len(x)}"

    return df.pivot_table(index=["model", "variant"], columns="task", values="char_acc",
                          aggfunc=count, observed=True).fillna("-")


def study_lengths(df: pd.DataFrame) -> pd.DataFrame:
    """Mean character accuracy at every evaluation length: faithful, rope and all variants."""
    keep = df[df["variant"].isin(["faithful", "rope", "all"])]
    return keep.pivot_table(index=["task", "model", "variant"], columns="length",
                            values="char_acc", observed=True).round(3)


def sweep_records(ch: Chapter) -> list[Record]:
    """The first seed of every faithful recurrent rung and of the fully corrected nested
    rungs, with greedy evaluations at loop steps below, at and above the trained number."""
    seed = ch.seeds[:1]
    recurrent = [m for m in model_names() if rung(m).tied]
    records = runs(dataclasses.replace(ch, seeds=seed, tasks=ch.study_tasks), recurrent)
    corrected = [c for c in study_configs(ch.profile, seed, ch.study_tasks)
                 if variant_of(c) == "all"]
    store = ResultStore()
    records += [r for c in corrected if (r := store.find(c)) is not None]
    return evaluations(ch, records, "greedy",
                       steps=lambda r: sweep_steps(r["plan"]["n_layer"]))


def provenance_table(records: list[Record]) -> pd.DataFrame:
    """Where, when and with what each run was produced."""
    rows = []
    for r in records:
        p = r["provenance"]
        rows.append({"model": r["model"], "task": r["task"], "seed": r["seed"],
                     "device": p["device_name"], "threads": p["exec"]["threads"],
                     "torch": p["torch"], "python": p["python"],
                     "commit": (p["git"]["commit"] or "-")[:10]
                     + ("+" if p["git"]["dirty"] else ""),
                     "created": p["created"][:10], "wall time (s)": round(p["wall_time_s"])})
    return pd.DataFrame(rows)


def _rounded(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    return df.round(3) if not df.empty else df


def all_seed_runs(ch: Chapter) -> list[Record]:
    """Every stored run of the profile's own (faithful) configurations, whatever its seed."""
    out = []
    for r in ResultStore().records():
        if r["model"] in model_names() and r["task"] in ch.tasks:
            if ch.profile.config(r["model"], r["task"], r["seed"]).hash == r["config_hash"]:
                out.append(r)
    return out


def rung_differences(final: pd.DataFrame, length: int) -> pd.DataFrame:
    """Each rung against the previous one (ladder order, among the rungs present), paired by
    seed at `length`; `reliable` when the 95% interval of the difference excludes zero."""
    df = final[(final["length"] == length) & (final["variant"] == "faithful")]
    rows = []
    for task, group in df.groupby("task", observed=True):
        present = [m for m in model_names() if (group["model"] == m).any()]
        for prev, model in zip(present, present[1:]):
            d = paired_difference(group, {"model": model}, {"model": prev})
            rows.append({"task": task, "rung": rung(model).display,
                         "minus": rung(prev).display, **d})
    return _rounded(rows)
