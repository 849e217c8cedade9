"""Backends stage: ``python -m agentrt.backends.llama_server ARGS`` — llama-cpp-python's
OpenAI-compatible server (``python -m llama_cpp.server ARGS``) with the model loaded the way
:mod:`agentrt.backends.llama_runtime` chooses for this CPU.

The stock server builds its model parameters from llama.cpp's defaults, so on a machine that
advertises Intel AMX but cannot execute it (some VMs) it dies with SIGILL at its first request,
as the embedded backend would. This entry point sets ``use_extra_bufts`` the same way
(``AGENTRT_EXTRA_BUFTS`` overrides) for the whole server process, then runs the server with
the given arguments unchanged; serve it to ``--model llamacpp:http://HOST:PORT/v1#ALIAS``.
"""

from __future__ import annotations

import runpy
import sys
from collections.abc import Sequence

from agentrt.backends.llama_runtime import choose_load_params

__all__ = ["main", "patch_default_params"]


def patch_default_params(llama_cpp: object, use_extra_bufts: bool | None) -> None:
    """Make every model this process loads use ``use_extra_bufts`` (None: leave the default)."""
    if use_extra_bufts is None:
        return
    low = llama_cpp.llama_cpp  # type: ignore[attr-defined]
    original = low.llama_model_default_params

    def params() -> object:
        p = original()
        p.use_extra_bufts = use_extra_bufts
        return p

    low.llama_model_default_params = params


def main(argv: Sequence[str] | None = None) -> None:
    import llama_cpp

    params = choose_load_params()
    patch_default_params(llama_cpp, params.use_extra_bufts)
    sys.argv = ["llama_cpp.server", *(sys.argv[1:] if argv is None else argv)]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
