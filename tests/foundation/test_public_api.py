"""The one public entry point stays honest: sorted __all__, every name importable."""

from __future__ import annotations

import agentrt


def test_all_is_sorted_and_complete() -> None:
    names = [n for n in agentrt.__all__ if n != "__version__"]
    assert names == sorted(names)
    for name in agentrt.__all__:
        assert hasattr(agentrt, name), name
    public = {n for n in dir(agentrt) if not n.startswith("_")
              and not isinstance(getattr(agentrt, n), type(agentrt))}
    assert public <= set(agentrt.__all__), public - set(agentrt.__all__)


def test_errors_form_one_tree() -> None:
    from agentrt import errors

    for name in errors.__all__:
        assert issubclass(getattr(errors, name), agentrt.AgentRTError)
