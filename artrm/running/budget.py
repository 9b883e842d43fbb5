"""A grid that fits a time budget, for machines lent in short calls (a borrowed GPU).

`run_budgeted` trains the missing runs of a grid until `budget_s` seconds after it started,
and stops cleanly before then: it starts a run only when the run can finish in the time
left, stops a run that turns out unable to, and packs every finished record of the grid
into one archive (rewritten after each finished run, so a call killed early still leaves
it). Called again, it continues with what is missing: runs stored in the results store are
skipped; a checkpoint left by an earlier call on the same machine is resumed; on a fresh
machine a run starts again from step 0.

Speed is measured, not assumed: each run first trains one warm-up step and a short probe,
its seconds per step (evaluation rounds included as they come) predict the rest, and the
rate is reused for the other runs of the same model and width. A run whose rate is not
known yet is started whenever at least its warm-up step fits.

`clock` is the time source (a test replaces it); a hard stop (SIGALRM) ends a run that
overruns its deadline after all, leaving its last checkpoint.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artrm.config import ExecConfig
from artrm.results.archive import pack
from artrm.results.store import Record, ResultStore
from artrm.run_config import RunConfig
from artrm.running.grid import Log, stderr_log, worker_exec, worker_pool
from artrm.training.train import Trainer, checkpoint_path

clock: Callable[[], float] = time.time
PROBE_STEPS = 10  # steps timed before a run's own rate is trusted


class HardStop(Exception):
    """The run's hard deadline passed while it was still training."""


@dataclass(frozen=True)
class Outcome:
    """What one budgeted run did in this call."""

    config_hash: str
    status: str  # "finished", "cannot finish", "deadline", "hard stop" or "error: ..."
    step: int  # steps trained (in total, checkpoints included)
    s_per_step: float | None  # measured in this call, evaluation included
    record: Record | None = None


@dataclass
class Budget:
    """The call's time budget, in `clock` seconds."""

    deadline: float  # no run trains past this
    hard_grace_s: float | None  # a run still training this long after the deadline is stopped
    startup_s: float  # allowance for starting a run (process, device, model) in estimates

    def left(self) -> float:
        return self.deadline - clock()


def rate_key(cfg: RunConfig) -> str:
    """Runs that train at about the same speed: all but the seed and the evaluation, and
    the task too when every sequence is padded to the block."""
    ignore = {"seed", "eval"} | ({"task"} if cfg.data.padding == "block" else set())
    return str({k: v for k, v in cfg.to_dict().items() if k not in ignore})


@contextmanager
def hard_stop(seconds: float | None) -> Iterator[None]:
    """Raise HardStop in this (main) thread once `seconds` have passed."""
    if seconds is None:
        yield
        return

    def fire(signum: int, frame: Any) -> None:
        raise HardStop()

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def train_within(cfg: RunConfig, exe: ExecConfig, store: ResultStore, checkpoints: Path | None,
                 label: str | None, budget: Budget, s_per_step: float | None,
                 partial: bool) -> Outcome:
    """Train `cfg` (from its checkpoint, if any) while it fits in `budget`, checkpointing at
    every stop; store its record when it finishes. `s_per_step` is a rate measured earlier
    in this call for runs like it, if any. With `partial`, a run that cannot finish trains
    on until the deadline (a later call on the same machine resumes it)."""
    trainer = Trainer(cfg, exe, checkpoint_path(cfg, checkpoints))
    p, steps = trainer.progress, cfg.optim.steps
    every = exe.checkpoint_every or cfg.eval.every
    rate, trusted, mark = s_per_step, s_per_step is not None, None

    def outcome(status: str, record: Record | None = None) -> Outcome:
        return Outcome(cfg.hash, status, p.step, rate if trusted else None, record)

    def stopped(status: str) -> Outcome:  # a stop before the end keeps a checkpoint
        trainer.save_checkpoint()
        return outcome(status)

    grace = budget.hard_grace_s
    try:
        with hard_stop(None if grace is None else budget.left() + grace):
            while p.step < steps:
                now, boundary = clock(), min(steps, (p.step // every + 1) * every)
                if mark is None:
                    target = p.step + 1  # warm-up: first calls are slow; a first rate
                elif not trusted:
                    target = min(boundary, mark[0] + PROBE_STEPS)
                else:
                    target = boundary
                    if not partial and now + (steps - p.step) * rate > budget.deadline:
                        return stopped("cannot finish")
                if rate is not None and now + (target - p.step) * rate > budget.deadline:
                    target = p.step + math.floor(budget.left() / rate) if partial else p.step
                    if target <= p.step:
                        return stopped("deadline")
                trainer.run(stop_at=target, save_at_stop=False)
                if mark is None:
                    mark = (p.step, clock())
                    rate = rate if trusted else mark[1] - now
                else:
                    rate = (clock() - mark[1]) / (p.step - mark[0])
                    trusted = trusted or p.step - mark[0] >= PROBE_STEPS
    except HardStop:
        return outcome("hard stop")
    record = trainer.record(label)
    store.save(record)
    return outcome("finished", record)


def _train_in_worker(cfg: RunConfig, root: str, checkpoints: str | None, label: str | None,
                     budget: Budget, s_per_step: float | None, partial: bool) -> Outcome:
    return train_within(cfg, worker_exec(), ResultStore(Path(root)),
                        None if checkpoints is None else Path(checkpoints), label, budget,
                        s_per_step, partial)


@dataclass
class Summary:
    """Where every run of the grid stands after the call."""

    stored: list[str] = field(default_factory=list)  # before this call
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    not_started: dict[str, str] = field(default_factory=dict)  # config hash -> why
    archive_bytes: int | None = None

    @property
    def finished(self) -> list[str]:
        return [h for h, o in self.outcomes.items() if o.status == "finished"]

    @property
    def errors(self) -> list[str]:
        return [h for h, o in self.outcomes.items() if o.status.startswith("error")]

    def missing(self, configs: list[RunConfig]) -> list[RunConfig]:
        done = set(self.stored) | set(self.finished)
        return [c for c in configs if c.hash not in done]


class Scheduler:
    """Starts runs on free worker slots while they fit (with `partial`, while any time is
    left: a run trains as far as it can), longest known first."""

    def __init__(self, todo: list[RunConfig], budget: Budget, partial: bool) -> None:
        self.queue, self.budget, self.partial = list(todo), budget, partial
        self.rates: dict[str, float] = {}

    def estimate(self, cfg: RunConfig) -> float | None:
        rate = self.rates.get(rate_key(cfg))
        return None if rate is None else self.budget.startup_s + cfg.optim.steps * rate

    def need(self, cfg: RunConfig) -> float:
        """Seconds that must be left to start `cfg`: its estimate when known and the run
        must finish, else only the start-up allowance."""
        estimate = None if self.partial else self.estimate(cfg)
        return self.budget.startup_s if estimate is None else estimate

    def next(self) -> RunConfig | None:
        """The next run to start, or None when nothing left fits (those are kept)."""
        left = self.budget.left()
        fitting = [c for c in self.queue if left > 0 and self.need(c) <= left]
        if not fitting:
            return None
        cfg = max(fitting, key=lambda c: self.estimate(c) or math.inf)
        self.queue.remove(cfg)
        return cfg

    def learn(self, cfg: RunConfig, outcome: Outcome) -> None:
        if outcome.s_per_step is not None:
            self.rates[rate_key(cfg)] = outcome.s_per_step


def run_budgeted(configs: list[RunConfig], exe: ExecConfig, store: ResultStore, budget_s: float,
                 export: Path | None = None, workers: int = 1, label: str | None = None,
                 checkpoints: Path | None = None, partial: bool = False,
                 reserve_s: float | None = None, hard_grace_s: float | None = 10.0,
                 startup_s: float | None = None, log: Log = stderr_log,
                 isolate: bool = False) -> Summary:
    """Train the missing runs of `configs` within `budget_s` seconds from now and pack the
    grid's stored records into `export`. The last `reserve_s` (default: 10% of the budget,
    at most 15 s) are kept for packing and exit; a run's estimate includes `startup_s`
    (default: 5% of the budget, at most 10 s). With one worker the runs train in this
    process unless `isolate`; else in `workers` processes (on CUDA they share the visible
    GPUs)."""
    reserve_s = min(15.0, budget_s / 10) if reserve_s is None else reserve_s
    startup_s = min(10.0, budget_s / 20) if startup_s is None else startup_s
    budget = Budget(clock() + budget_s - reserve_s, hard_grace_s, startup_s)
    summary = Summary(stored=[c.hash for c in configs if store.find(c) is not None])
    todo = [c for c in configs if c.hash not in summary.stored]
    scheduler = Scheduler(todo, budget, partial)
    names = {c.hash: f"{c.model}/{c.task}/s{c.seed}" for c in configs}

    def done(cfg: RunConfig, outcome: Outcome) -> None:
        summary.outcomes[cfg.hash] = outcome
        scheduler.learn(cfg, outcome)
        rate = f", {outcome.s_per_step:.3f} s/step" if outcome.s_per_step else ""
        log(f"{names[cfg.hash]}: {outcome.status} at step {outcome.step}{rate}")
        if outcome.record is not None and export is not None:
            summary.archive_bytes = _export(configs, store, export)

    if workers <= 1 and not isolate:
        while (cfg := scheduler.next()) is not None:
            try:
                outcome = train_within(cfg, exe, store, checkpoints, label, budget,
                                       scheduler.rates.get(rate_key(cfg)), partial)
            except Exception as err:  # one failed run must not cost the others' records
                outcome = Outcome(cfg.hash, f"error: {err!r}", 0, None)
            done(cfg, outcome)
    else:
        folder = None if checkpoints is None else str(checkpoints)
        with worker_pool(exe, max(1, min(workers, len(todo)))) as pool:
            running: dict[Future, RunConfig] = {}
            broken = False
            while not broken:
                while len(running) < workers and (cfg := scheduler.next()) is not None:
                    running[pool.submit(_train_in_worker, cfg, str(store.root), folder, label,
                                        budget, scheduler.rates.get(rate_key(cfg)),
                                        partial)] = cfg
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    cfg = running.pop(future)
                    try:
                        outcome = future.result()
                    except Exception as err:  # a worker died (BrokenProcessPool) or raised
                        outcome = Outcome(cfg.hash, f"error: {err!r}", 0, None)
                        broken = isinstance(err, BrokenProcessPool)
                    done(cfg, outcome)
            for cfg in running.values():  # only after a broken pool
                done(cfg, Outcome(cfg.hash, "error: worker pool broken", 0, None))
    for cfg in scheduler.queue:
        estimate = scheduler.estimate(cfg)
        summary.not_started[cfg.hash] = (f"needs about {estimate:.0f} s" if estimate else
                                         "no time left to start it")
    if export is not None:
        summary.archive_bytes = _export(configs, store, export)
    return summary


def _export(configs: list[RunConfig], store: ResultStore, path: Path) -> int:
    records = [r for c in configs if (r := store.find(c)) is not None]
    return pack(records, store, path)


def report(configs: list[RunConfig], summary: Summary) -> str:
    """A few lines for the end of the call's output."""
    missing = summary.missing(configs)
    lines = [f"{len(summary.stored)} stored before, {len(summary.finished)} finished now, "
             f"{len(missing)} of {len(configs)} missing"]
    for cfg in missing:
        outcome = summary.outcomes.get(cfg.hash)
        why = (f"{outcome.status} at step {outcome.step}" if outcome else
               f"not started: {summary.not_started.get(cfg.hash, '')}")
        lines.append(f"  missing {cfg.model}/{cfg.task}/s{cfg.seed}: {why}")
    if summary.archive_bytes is not None:
        lines.append(f"archive: {summary.archive_bytes / 2**20:.2f} MiB")
    lines.append("grid complete" if not missing else "run the same command again to continue")
    return "\n".join(lines)
