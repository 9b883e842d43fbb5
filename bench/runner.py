"""Run measurement specs in fresh processes (`python -m bench.measure`) and collect results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[1]


class MeasureError(RuntimeError):
    """A measurement process failed; the message holds the end of its error output."""


@dataclass
class Job:
    """A measurement process; its output goes to temporary files, so no pipe can fill up
    while the caller waits on another process."""

    proc: subprocess.Popen
    out: IO[str]
    err: IO[str]

    def finish(self) -> list[dict[str, Any]]:
        self.proc.wait()
        out, err = (self._read(f) for f in (self.out, self.err))
        if self.proc.returncode != 0:
            tail = " | ".join(err.strip().splitlines()[-3:])
            raise MeasureError(f"measurement process exited with {self.proc.returncode}: {tail}")
        return json.loads(out.strip().splitlines()[-1])

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    @staticmethod
    def _read(fh: IO[str]) -> str:
        fh.seek(0)
        text = fh.read()
        fh.close()
        return text


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1"}


def start(specs: list[dict[str, Any]]) -> Job:
    """A process that measures `specs` one after another."""
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    proc = subprocess.Popen([sys.executable, "-m", "bench.measure"], cwd=REPO, env=_env(),
                            stdin=subprocess.PIPE, stdout=out, stderr=err, text=True)
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(specs))
    proc.stdin.close()
    return Job(proc, out, err)


def run_in_process(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run `specs` one after another in one fresh process."""
    return start(specs).finish()


def run_together(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run each spec in its own process, all at once, synchronised by a file barrier."""
    with tempfile.TemporaryDirectory(prefix="artrm-bench-") as folder:
        jobs = [start([{**spec, "barrier": folder}]) for spec in specs]
        results = []
        try:
            for job in jobs:
                results += job.finish()
        except MeasureError:
            for job in jobs:  # the others would wait at the barrier for ever
                job.kill()
            raise
        return results
