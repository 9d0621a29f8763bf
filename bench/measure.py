"""Run one benchmark stage as a subprocess and measure its wall time and peak memory.

A stage is often a tree of processes (the Dagster run starts dbt as a child), so the process
tree is polled every 0.2 s with psutil and two figures are kept:
  * `peak_rss_mb`: the highest sum of the resident set sizes of the whole tree (what the machine
    must hold at once; pages shared between processes count once per process, so it errs high);
  * `max_rss_mb`: the highest RSS of any single process of the tree.
A peak shorter than the polling interval can be missed; stages that report on themselves also
give their own `ru_maxrss` (`self_max_rss_mb`).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

POLL_SECONDS = 0.2


@dataclass
class Measured:
    label: str
    seconds: float
    peak_rss_mb: float
    max_rss_mb: float
    returncode: int
    mean_load: float = 0.0  # mean 1-minute load average while the stage ran (machine is shared)
    stdout: str = ""
    stderr: str = ""
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """`seconds` is the stage's own figure when it reports one (e.g. the summary call alone,
        without interpreter start-up and imports), else the wall time of the process."""
        out = {
            "seconds": round(self.seconds, 2),
            "wall_seconds": round(self.seconds, 2),
            "peak_rss_mb": round(self.peak_rss_mb),
            "max_rss_mb": round(self.max_rss_mb),
            "mean_loadavg": round(self.mean_load, 1),
        }
        for key, value in self.extra.items():
            out[key] = round(value, 3) if isinstance(value, float) else value
        return out


def _tree_rss(proc: psutil.Process) -> tuple[int, int]:
    """(sum, largest) RSS over the process and its descendants, in bytes."""
    sizes = []
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            sizes.append(p.memory_info().rss)
    return sum(sizes), max(sizes, default=0)


def run_measured(
    label: str,
    cmd: list[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    log: Path | None = None,
    json_stdout: bool = False,
) -> Measured:
    """Run `cmd` to completion; stdout/stderr go to `log` (if given) and are kept in memory.

    With `json_stdout`, the last line of stdout is parsed as JSON into `extra` (the stage reports
    its own inner timings that way).
    """
    out_path = log or Path(os.devnull)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    peak = single = 0
    loads: list[float] = []
    started = time.perf_counter()
    with open(out_path, "a", encoding="utf-8") as sink:
        sink.write(f"\n===== {label}: {' '.join(cmd)}\n")
        sink.flush()
        proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        watched = psutil.Process(proc.pid)
        stop = threading.Event()

        def poll() -> None:
            nonlocal peak, single
            while not stop.is_set():
                tree, largest = _tree_rss(watched)
                peak, single = max(peak, tree), max(single, largest)
                loads.append(os.getloadavg()[0])
                stop.wait(POLL_SECONDS)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        stdout, stderr = proc.communicate()
        seconds = time.perf_counter() - started
        stop.set()
        poller.join()
        sink.write(stdout)
        sink.write(stderr)
    result = Measured(
        label=label,
        seconds=seconds,
        peak_rss_mb=peak / 2**20,
        max_rss_mb=single / 2**20,
        mean_load=sum(loads) / len(loads) if loads else 0.0,
        returncode=proc.returncode,
        stdout=stdout,
        stderr=stderr,
    )
    if proc.returncode != 0:
        tail = (stderr or stdout)[-3000:]
        raise RuntimeError(f"{label} failed with exit code {proc.returncode}:\n{tail}")
    if json_stdout:
        lines = [line for line in stdout.splitlines() if line.startswith("{")]
        if not lines:
            raise RuntimeError(f"{label}: expected a JSON line on stdout, got:\n{stdout[-2000:]}")
        result.extra = json.loads(lines[-1])
        # not merged into the peak: on Linux ru_maxrss survives exec, so a child's own figure
        # can include the RSS of the bench process it was forked from
    return result


def self_max_rss_mb() -> float:
    """Peak RSS of the calling process (for stages that report on themselves)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def python() -> str:
    return sys.executable
