"""Backends stage: how many threads the embedded model uses, chosen again before every step.

llama.cpp's threads meet at a barrier after every operation of every layer (hundreds of times
per token). When another process takes a core, one of them is descheduled for a scheduler
time slice and all the others wait: measured on a 2-core VM, generation at 2 threads falls from
~22 tok/s (quiet) to ~0.8 tok/s with one busy neighbour, while 1 thread keeps ~12 tok/s.

So before each step :class:`ThreadPolicy` reads how much CPU *other* processes used since the
last step (``/proc/stat`` busy time minus this process's own CPU time, over the wall time) and
uses the cores they left free: ``cores - ceil(others - 0.2)``, at least 1. As a second guard it
keeps the generation speed measured at each thread count: when a step at ``t`` threads ran at
under a third of the best speed seen at ``t`` (a neighbour that started mid-step), the next
step uses fewer threads. ``AGENTRT_THREADS`` (or an explicit ``n_threads``) fixes the count.
Where ``/proc/stat`` does not exist the speed guard alone decides. At most
:data:`MAX_THREADS` threads are used (a 0.5B model gains nothing beyond that).

Measured (2-core VM shared with other jobs; prompt / generation tok/s; OpenMP build with its
default spinning barrier): 2 threads 130–143 / 26–28 in quiet moments, 31–36 / 5–10 with a busy
neighbour; 1 thread 76–86 / 9–15 either way. ``OMP_WAIT_POLICY=PASSIVE`` keeps 2 threads from
collapsing (49–74 / 9–12 busy) but gives only 12–20 generation tok/s in quiet moments, so it is
not set.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MAX_THREADS", "CpuSample", "ThreadPolicy", "available_cores", "read_cpu_sample"]

#: the most threads the policy uses by default
MAX_THREADS = 8

#: other processes' CPU use (in cores) tolerated before giving up a core
_SLACK = 0.2
#: a step slower than this share of the best speed seen at its thread count is a collapse
_COLLAPSE = 1 / 3
#: below this window (seconds) a reading says too little; the previous choice stands
_MIN_WINDOW = 0.2


@dataclass(frozen=True, slots=True, kw_only=True)
class CpuSample:
    """One reading: wall clock, busy CPU seconds of the whole machine, and of this process."""

    wall: float
    machine_busy: float
    own: float


def available_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def read_cpu_sample(stat: Path = Path("/proc/stat")) -> CpuSample | None:
    """A reading from ``/proc/stat`` (None where it cannot be read)."""
    try:
        with stat.open() as fh:
            first = fh.readline().split()
    except OSError:
        return None
    if len(first) < 8 or first[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait;
    # steal (the hypervisor ran someone else) is as unavailable to us as a busy neighbour
    values = [int(v) for v in first[1:9]]
    busy = sum(values) - values[3] - values[4]
    return CpuSample(wall=time.monotonic(), machine_busy=busy / _TICK, own=time.process_time())


class ThreadPolicy:
    """Chooses the thread count for each step (see the module docstring).

    ``fixed`` pins the count; ``cores`` is the most it uses; ``sample`` is the CPU reader
    (injected in tests).
    """

    def __init__(self, *, cores: int | None = None, fixed: int | None = None,
                 sample: Callable[[], CpuSample | None] = read_cpu_sample,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.cores = max(1, cores or min(MAX_THREADS, available_cores()))
        self.fixed = fixed if fixed and fixed > 0 else None
        self._sample = sample
        self._sleep = sleep
        self._last = sample() if self.fixed is None else None
        self._choice = self.fixed or self.cores
        self._best: dict[int, float] = {}
        self._cap = self.cores
        self._capped_steps = 0
        #: other processes' CPU use (cores) at the last reading
        self.others: float | None = None

    @classmethod
    def from_env(cls, n_threads: int | None = None, **kw: object) -> ThreadPolicy:
        """``n_threads``, else ``AGENTRT_THREADS``, else adaptive."""
        env = os.environ.get("AGENTRT_THREADS", "").strip()
        fixed = n_threads or (int(env) if env.isdigit() else None)
        return cls(fixed=fixed, **kw)  # type: ignore[arg-type]

    @property
    def current(self) -> int:
        """The count of the last choice (the first: all cores, or the fixed count)."""
        return self._choice

    def restart(self) -> None:
        """Start the next window now (after work of ours in another process, the probe)."""
        if self.fixed is None:
            self._last = self._sample()

    def choose(self) -> int:
        """The thread count for the next step."""
        if self.fixed is not None:
            return self.fixed
        now = self._sample()
        if self.others is None and now is not None and self._last is not None \
                and now.wall - self._last.wall < _MIN_WINDOW:
            # the first step: wait for a reading rather than guess (a wrong guess on a busy
            # machine costs a whole step at a tenth of the speed)
            self._sleep(_MIN_WINDOW - (now.wall - self._last.wall))
            now = self._sample()
        choice = self._choice
        if now is not None and self._last is not None \
                and now.wall - self._last.wall >= _MIN_WINDOW:
            window = now.wall - self._last.wall
            others = max(0.0, (now.machine_busy - self._last.machine_busy
                               - (now.own - self._last.own)) / window)
            self.others = others
            choice = max(1, self.cores - math.ceil(max(0.0, others - _SLACK)))
            self._last = now
        elif now is not None and self._last is None:
            self._last = now
        if self._capped_steps:
            self._capped_steps -= 1
            choice = min(choice, self._cap)
        self._choice = max(1, min(self.cores, choice))
        return self._choice

    def record(self, threads: int, tokens: int, seconds: float) -> None:
        """A step's generation: ``tokens`` decoded in ``seconds`` at ``threads``."""
        if self.fixed is not None or tokens < 4 or seconds <= 0:
            return
        rate = tokens / seconds
        best = self._best.get(threads, 0.0)
        if best and rate < best * _COLLAPSE and threads > 1:
            self._cap, self._capped_steps = threads - 1, 2  # the next two steps: fewer
        self._best[threads] = max(best, rate)
