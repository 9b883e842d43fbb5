"""The one check of a run record, used wherever a record enters: store reads, `import`,
`eval`, the notebooks. A record that fails raises `BadRecord`, whose message names the file
and the field; numbers must be finite and of the right type; the config must be valid here
and produce the record's hash. A record carries `content_digest`, the sha256 of its whole
content, written on every save and checked on every read (records stored before it existed
have none, and get it when next saved); a stored record's file name must be its config's."""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any

from artrm.errors import ConfigError
from artrm.run_config import RunConfig

SCHEMA = 2
Record = dict[str, Any]
MAX_BYTES = 64 * 2**20  # larger files are not records of this project
HEX64 = re.compile(r"[0-9a-f]{64}")


class BadRecord(ConfigError):
    """A record (file or archive member) that cannot be used; the message says why."""


def parse(text: str | bytes, where: str) -> Any:
    """JSON of a record file: strict (no NaN or Infinity) and not absurdly deep or large."""
    if len(text) > MAX_BYTES:
        raise BadRecord(f"{where}: {len(text)} bytes is too large for a run record")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise BadRecord(f"{where}: not a run record (JSON nested too deeply)") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise BadRecord(f"{where}: not valid JSON ({err})") from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


NUMBER_LIST = re.compile(r"\[\s+(-?[\d.eE+-]+(?:,\s+-?[\d.eE+-]+)*)\s+\]")


def dumps(record: Record) -> str:
    """A record as stored: indented, strict JSON (a non-finite number is an error), with each
    list of numbers (the per-step curves) on one line."""
    text = json.dumps(record, indent=1, allow_nan=False)
    return NUMBER_LIST.sub(lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text) + "\n"


def content_digest(record: Record) -> str:
    """sha256 of the canonical JSON of `record` without its `content_digest` field."""
    body = {k: v for k, v in record.items() if k != "content_digest"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def sealed(record: Record) -> Record:
    """`record` with the digest of its current content (added on every save)."""
    return {**record, "content_digest": content_digest(record)}


def unsealed(record: Record) -> Record:
    """`record` without its digest: two records are the same run result when these agree."""
    return {k: v for k, v in record.items() if k != "content_digest"}


def record_name(cfg: RunConfig) -> str:
    """The file name of the record of `cfg`: `<model>-<task>-s<seed>-<hash12>.json`."""
    return f"{cfg.model}-{cfg.task}-s{cfg.seed}-{cfg.hash[:12]}.json"


def check_name(record: Record, name: str) -> Record:
    """`record` if `name` is its file name; else BadRecord (a copy under another name, or
    another run's record under this one)."""
    expected = record_name(RunConfig.from_dict(record["config"]))
    if name != expected:
        raise BadRecord(f"{name}: the file name does not match the record's config (its name "
                        f"is {expected}); rename or remove the file")
    return record


def validate(record: Any, where: str) -> Record:
    """`record` if it is a complete, consistent run record of this schema; else BadRecord."""
    def need(cond: bool, field: str, what: str) -> None:
        if not cond:
            raise BadRecord(f"{where}: field {field} {what}")

    need(isinstance(record, dict), "(top level)", "must be an object")
    schema = record.get("schema")
    need(schema == SCHEMA, "schema", f"must be {SCHEMA}; got {schema!r}"
         + (" (run `python -m artrm migrate`)" if schema == 1 else ""))
    need("content_digest" not in record or record["content_digest"] == content_digest(record),
         "content_digest", "does not match the record's content (damaged or edited)")
    need(isinstance(record.get("config_hash"), str) and HEX64.fullmatch(record["config_hash"])
         is not None, "config_hash", "must be 64 hex digits")
    try:
        cfg = RunConfig.from_dict(record.get("config"))
    except ConfigError as err:
        raise BadRecord(f"{where}: field config is not valid here: {err}") from None
    need(cfg.hash == record["config_hash"], "config_hash",
         f"does not match the config (which hashes to {cfg.hash[:12]})")
    need(record.get("config") == cfg.to_dict(), "config", "is not in normal form")
    for key in ("model", "task", "seed"):
        need(record.get(key) == getattr(cfg, key) and type(record.get(key)) is
             type(getattr(cfg, key)), key, f"must equal config.{key}")
    need(record.get("label") is None or isinstance(record["label"], str), "label",
         "must be a string or null")
    need(_count(record.get("params")), "params", "must be a non-negative integer")
    passes = record.get("passes")
    need(isinstance(passes, dict) and _count(passes.get("nominal"))
         and _number(passes.get("forward_mean")) and _number(passes.get("backward_mean")),
         "passes", "must hold nominal, forward_mean and backward_mean")
    plan = record.get("plan")
    need(isinstance(plan, dict) and set(plan) == {"n_layer", "passes_per_step", "n_outer",
                                                  "n_inner"}
         and all(_count(v) for v in plan.values()), "plan", "must be a loop plan")
    lengths = [str(n) for n in cfg.eval.lengths]
    _metrics(record.get("final"), f"{where}: field final", lengths)
    history = record.get("history")
    need(isinstance(history, list) and history, "history", "must be a non-empty list")
    for i, entry in enumerate(history):
        need(isinstance(entry, dict) and _count(entry.get("step")), f"history[{i}]",
             "must have a step")
        for key, value in entry.items():
            if key.startswith("train_"):
                need(_number(value), f"history[{i}].{key}", "must be a finite number")
        _metrics(entry.get("eval"), f"{where}: field history[{i}].eval", None)
    need(history[-1]["eval"] == record["final"], "final", "must equal the last evaluation")
    curves = record.get("curves")
    need(isinstance(curves, dict) and all(
        isinstance(v, list) and all(_number(x) for x in v) for v in curves.values()),
        "curves", "must map names to lists of finite numbers")
    need(isinstance(record.get("provenance"), dict), "provenance", "must be an object")
    evaluations = record.get("evaluations", [])
    need(isinstance(evaluations, list), "evaluations", "must be a list")
    for i, e in enumerate(evaluations):
        need(isinstance(e, dict) and e.get("decoding") in ("sample", "greedy")
             and _count(e.get("n_problems")) and (e.get("steps") is None or _count(e["steps"]))
             and e.get("full_compute") in (None, True, False) and _count(e.get("trained_steps")),
             f"evaluations[{i}]", "must describe one evaluation")
        _metrics(e.get("metrics"), f"{where}: field evaluations[{i}].metrics", None)
    trace = record.get("state_trace")
    if trace is not None:
        need(isinstance(trace, dict) and _number(trace.get("x_rms")) and all(
            isinstance(trace.get(k), list) and all(_number(v) for v in trace[k])
            for k in ("rms", "input_rms", "halt_p")) and isinstance(trace.get("stream"), list)
            and len(trace["stream"]) == len(trace["rms"]), "state_trace",
            "must hold x_rms and lists stream, rms, input_rms and halt_p")
        weights = trace.get("act_weight")
        need(weights is None or (isinstance(weights, list) and len(weights) == len(
            trace["halt_p"]) and all(_number(w) for w in weights)), "state_trace",
            "must hold act_weight as a list of numbers, one per loop step, when it holds any")
    grads = record.get("gradient_trace")
    if grads is not None:
        need(isinstance(grads, dict) and _number(grads.get("loss"))
             and isinstance(grads.get("grad_norm"), list)
             and all(_number(v) for v in grads["grad_norm"])
             and isinstance(grads.get("stream"), list)
             and len(grads["stream"]) == len(grads["grad_norm"]), "gradient_trace",
             "must hold a loss and lists stream and grad_norm of one length")
    return record


def _metrics(value: Any, where: str, lengths: list[str] | None) -> None:
    """Metrics per length: {"10": {"char_acc": 0.5, ...}, ...}, accuracies in [0, 1]."""
    if not isinstance(value, dict) or not value:
        raise BadRecord(f"{where} must map lengths to metrics")
    if lengths is not None and sorted(value, key=_int) != sorted(lengths, key=_int):
        raise BadRecord(f"{where} must hold the lengths {', '.join(lengths)}")
    for length, metrics in value.items():
        if not length.isdigit() or not isinstance(metrics, dict) or "char_acc" not in metrics:
            raise BadRecord(f"{where}[{length!r}] must be the metrics of one length")
        for name, x in metrics.items():
            ok = (x is None or _number(x)) if name != "passes" else _number(x)
            if not ok or (name != "passes" and x is not None and not 0 <= x <= 1):
                raise BadRecord(f"{where}[{length}].{name} must be an accuracy in [0, 1]")


def _int(text: str) -> int:
    return int(text) if text.isdigit() else -1


def _count(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
