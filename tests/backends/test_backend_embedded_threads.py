"""The embedded backend's thread policy: all cores on a quiet machine, fewer beside a busy
neighbour, a collapse measured mid-run handled, ``AGENTRT_THREADS`` obeyed."""

from __future__ import annotations

import os
import types
from pathlib import Path
from typing import Any

import pytest

from agentrt.backends import embedded
from agentrt.backends.embedded import EmbeddedBackend
from agentrt.backends.llama_threads import CpuSample, ThreadPolicy, read_cpu_sample


class FakeCpu:
    """A /proc/stat reader driven by the test: each ``advance`` is a window in which other
    processes used ``others`` cores and this process ``own`` cores."""

    def __init__(self) -> None:
        self.wall = 100.0
        self.machine = 0.0
        self.own = 0.0

    def advance(self, seconds: float, *, others: float, own: float = 0.0) -> None:
        self.wall += seconds
        self.machine += (others + own) * seconds
        self.own += own * seconds

    def sleep(self, seconds: float) -> None:
        self.advance(seconds, others=0.0)

    def __call__(self) -> CpuSample:
        return CpuSample(wall=self.wall, machine_busy=self.machine, own=self.own)


def _policy(cpu: FakeCpu, cores: int = 2) -> ThreadPolicy:
    return ThreadPolicy(cores=cores, sample=cpu, sleep=cpu.sleep)


def test_quiet_machine_uses_every_core() -> None:
    cpu = FakeCpu()
    policy = _policy(cpu)
    cpu.advance(1.0, others=0.05, own=0.9)  # the load: our own work is not a neighbour
    assert policy.choose() == 2
    cpu.advance(4.0, others=0.1, own=2.0)  # a step at 2 threads
    assert policy.choose() == 2
    assert policy.others == pytest.approx(0.1)


def test_a_busy_neighbour_frees_a_core_and_its_end_gives_it_back() -> None:
    cpu = FakeCpu()
    policy = _policy(cpu)
    cpu.advance(3.0, others=1.0, own=1.0)
    assert policy.choose() == 1
    cpu.advance(3.0, others=0.4, own=1.0)  # half a core busy is enough to stall a barrier
    assert policy.choose() == 1
    cpu.advance(3.0, others=0.0, own=1.0)
    assert policy.choose() == 2


def test_many_cores_keep_what_the_neighbours_leave() -> None:
    cpu = FakeCpu()
    policy = _policy(cpu, cores=8)
    cpu.advance(2.0, others=3.5)
    assert policy.choose() == 4
    cpu.advance(2.0, others=20.0)
    assert policy.choose() == 1


def test_first_step_waits_for_a_reading_instead_of_guessing() -> None:
    cpu = FakeCpu()
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the neighbour is busy while we wait
        slept.append(seconds)
        cpu.advance(seconds, others=1.5)

    policy = ThreadPolicy(cores=2, sample=cpu, sleep=sleep)
    cpu.advance(0.05, others=0.0)  # too short a window to say anything
    assert policy.choose() == 1
    assert slept == [pytest.approx(0.15)]  # waited out the rest of the minimum window
    cpu.advance(0.01, others=0.0)  # later short windows keep the last choice, no waiting
    assert policy.choose() == 1 and len(slept) == 1


def test_a_collapse_the_reading_missed_drops_a_thread_for_two_steps() -> None:
    cpu = FakeCpu()
    policy = _policy(cpu)
    cpu.advance(1.0, others=0.0)
    assert policy.choose() == 2
    policy.record(2, tokens=60, seconds=2.5)  # 24 tok/s
    policy.record(2, tokens=60, seconds=40.0)  # 1.5 tok/s: a neighbour started mid-step
    for _ in range(2):
        cpu.advance(1.0, others=0.0)  # the neighbour is between bursts when we look
        assert policy.choose() == 1
    cpu.advance(1.0, others=0.0)
    assert policy.choose() == 2
    policy.record(2, tokens=2, seconds=5.0)  # too few tokens to judge
    cpu.advance(1.0, others=0.0)
    assert policy.choose() == 2


def test_fixed_threads_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = FakeCpu()
    monkeypatch.setenv("AGENTRT_THREADS", "3")
    policy = ThreadPolicy.from_env(sample=cpu, cores=2)
    cpu.advance(3.0, others=2.0)
    assert policy.choose() == 3 and policy.current == 3
    assert ThreadPolicy.from_env(1, sample=cpu).choose() == 1  # an explicit count wins
    monkeypatch.delenv("AGENTRT_THREADS")
    assert ThreadPolicy.from_env(sample=cpu, cores=2).fixed is None


def test_no_proc_stat_keeps_all_cores_and_the_speed_guard() -> None:
    policy = ThreadPolicy(cores=2, sample=lambda: None)
    assert policy.choose() == 2
    policy.record(2, tokens=50, seconds=2.0)
    policy.record(2, tokens=50, seconds=30.0)
    assert policy.choose() == 1


def test_read_cpu_sample(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 50 1000 20 0 10 5 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
    sample = read_cpu_sample(stat)
    assert sample is not None
    tick = os.sysconf("SC_CLK_TCK")
    assert sample.machine_busy == pytest.approx((100 + 50 + 10 + 5) / tick)
    assert read_cpu_sample(tmp_path / "missing") is None
    stat.write_text("garbage\n")
    assert read_cpu_sample(stat) is None


async def test_backend_applies_the_choice_before_each_step(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    """The backend asks the policy before every completion and tells llama.cpp (which takes
    the thread count per call) only when it changes."""
    calls: list[tuple[Any, int, int]] = []

    class Llama:
        def __init__(self, model_path: str, **kw: Any) -> None:
            self.settings = kw
            self._ctx = types.SimpleNamespace(ctx="ctx")

        def create_chat_completion(self, **_: Any) -> dict[str, Any]:
            step = '{"thought": "t", "name": "finish", "arguments": {"return_type": ' \
                   '"give_up_and_restart"}}'
            return {"choices": [{"message": {"content": step}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 9}}

    fake = types.SimpleNamespace(
        Llama=Llama, llama_set_n_threads=lambda ctx, n, nb: calls.append((ctx, n, nb)),
        llama_cpp=types.SimpleNamespace(
            llama_model_default_params=lambda: types.SimpleNamespace(use_extra_bufts=True)),
        LlamaGrammar=types.SimpleNamespace(from_string=lambda text, verbose: text),
        llama_grammar=types.SimpleNamespace(JSON_GBNF="root ::= x"))
    monkeypatch.setattr(embedded, "_import_llama_cpp", lambda: fake)
    monkeypatch.setenv("AGENTRT_PROBE", "off")
    monkeypatch.delenv("AGENTRT_THREADS", raising=False)
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    backend = EmbeddedBackend(model, lazy_grammar=False)
    cpu = FakeCpu()
    backend.threads = ThreadPolicy(cores=2, sample=cpu, sleep=cpu.sleep)
    backend._settings.update(n_threads=2, n_threads_batch=2)
    messages = [{"role": "user", "content": "hi"}]
    seen = []
    for others in (0.0, 1.0, 1.0, 0.0):
        cpu.advance(2.0, others=others)
        [cand] = await backend.propose(messages, tools=[])
        seen.append(cand.meta["threads"])
    assert seen == [2, 1, 1, 2]
    assert calls == [("ctx", 1, 1), ("ctx", 2, 2)]
    assert os.environ.get("AGENTRT_PROBE") == "off"
