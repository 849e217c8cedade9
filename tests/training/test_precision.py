"""precision="auto" picks bf16 only where the hardware computes in it natively."""

from __future__ import annotations

from pathlib import Path

from agentrt.training.trainer import cpu_has_bf16, resolve_precision

INTEL_AMX = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
AMD_AVX2 = "processor\t: 0\nflags\t\t: fpu sse avx2 fma\n"


class _Device:
    type = "cpu"


def test_a_cpu_without_native_bf16_trains_in_fp32() -> None:
    assert cpu_has_bf16(INTEL_AMX) and not cpu_has_bf16(AMD_AVX2)
    assert not cpu_has_bf16("")  # no flags line: no claim
    assert resolve_precision("auto", _Device(), cpuinfo=INTEL_AMX) == "bf16"
    assert resolve_precision("auto", _Device(), cpuinfo=AMD_AVX2) == "fp32"
    # forced either way
    assert resolve_precision("bf16", _Device(), cpuinfo=AMD_AVX2) == "bf16"
    assert resolve_precision("fp32", _Device(), cpuinfo=INTEL_AMX) == "fp32"


def test_this_machine_reads_its_own_flags() -> None:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    assert cpu_has_bf16() == cpu_has_bf16(text)
