"""AgentConfig: the run settings as data (from a file, round-tripping to JSON), the injected
objects as parameters, and the keywords the README and the examples use still accepted."""

from __future__ import annotations

import json

import pytest

from agentrt.agent import Agent, AgentConfig
from agentrt.errors import ConfigError
from agentrt.executor.policy import Policy
from agentrt.search import Budget, SearchConfig
from agentrt.testing import ScriptedBackend, answer
from agentrt.toolset import Toolset

from .conftest import SPEC, FakeExecutor


@pytest.fixture(scope="module")
def toolset() -> Toolset:
    return Toolset.from_spec(SPEC)


SETTINGS = {"search": "dfsdt", "k": 3, "policy": "allow", "instructions": "Today is Monday.",
            "budget": {"max_depth": 12, "max_model_calls": 30},
            "sampling": {"temperature": 0.2}, "base_urls": {"mini-air": "http://127.0.0.1:1"}}


def test_from_json_and_yaml_files(tmp_path):
    (tmp_path / "agent.json").write_text(json.dumps(SETTINGS))
    (tmp_path / "agent.yaml").write_text(
        "search: dfsdt\nk: 3\npolicy: allow\ninstructions: Today is Monday.\n"
        "budget: {max_depth: 12, max_model_calls: 30}\nsampling: {temperature: 0.2}\n"
        "base_urls: {mini-air: 'http://127.0.0.1:1'}\n")
    from_json = AgentConfig.from_file(tmp_path / "agent.json")
    assert AgentConfig.from_file(tmp_path / "agent.yaml") == from_json
    assert from_json.budget == Budget(max_depth=12, max_model_calls=30)
    assert from_json.sampling is not None and from_json.sampling.temperature == 0.2
    assert AgentConfig.model_validate_json(from_json.model_dump_json()) == from_json


def test_bad_config_files_raise_config_error(tmp_path):
    (tmp_path / "typo.json").write_text(json.dumps({"serach": "dfs"}))
    (tmp_path / "broken.json").write_text("{")
    (tmp_path / "list.yaml").write_text("- dfs\n")
    with pytest.raises(ConfigError, match="serach"):
        AgentConfig.from_file(tmp_path / "typo.json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        AgentConfig.from_file(tmp_path / "broken.json")
    with pytest.raises(ConfigError, match="mapping"):
        AgentConfig.from_file(tmp_path / "list.yaml")
    with pytest.raises(ConfigError, match="cannot read"):
        AgentConfig.from_file(tmp_path / "missing.json")


def test_the_agent_runs_on_a_config(toolset):
    config = AgentConfig.load(SETTINGS)
    agent = Agent(ScriptedBackend([]), toolset, config)
    assert agent.search == SearchConfig.dfsdt(3)
    assert agent.budget.max_depth == 12 and agent.policy == "allow"
    assert agent.system.endswith("Today is Monday.")


def test_readme_keywords_still_work(toolset):
    agent = Agent(ScriptedBackend([]), toolset, policy="allow", credentials={"key": "k"},
                  base_urls="http://127.0.0.1:1")
    assert agent.config.policy == "allow" and agent.config.base_urls == "http://127.0.0.1:1"
    assert agent.credentials == {"key": "k"}
    # keywords override the config's fields; None means "not given"
    agent = Agent(ScriptedBackend([]), toolset, AgentConfig(k=2, instructions="hi"),
                  search="react", budget=None, instructions=None)
    assert agent.search.mode == "react" and agent.config.k == 2 and agent.budget == Budget()
    assert agent.system.endswith("hi")


def test_unknown_settings_and_bad_values_fail_loudly(toolset):
    with pytest.raises(ConfigError, match="retreive_k"):
        Agent(ScriptedBackend([]), toolset, retreive_k=3)
    with pytest.raises(ConfigError, match="policy"):
        Agent(ScriptedBackend([]), toolset, policy="allwo")
    with pytest.raises(ConfigError, match="search"):
        Agent(ScriptedBackend([]), toolset, search="bfs")


def test_a_policy_object_is_kept_and_the_default_guards(toolset):
    confirm = Policy.confirm(lambda _request: True)
    assert Agent(ScriptedBackend([]), toolset, policy=confirm).policy is confirm
    assert Agent(ScriptedBackend([]), toolset).policy == "guard"
    assert AgentConfig().policy == "guard"


async def test_config_settings_reach_the_run(toolset):
    backend = ScriptedBackend([answer("fine")])
    config = AgentConfig(instructions="Answer briefly.", observation_chars=300)
    result = await Agent(backend, toolset, config, executor=FakeExecutor()).run("q")
    assert result.status == "solved" and result.system.endswith("Answer briefly.")
    assert "Answer briefly." in backend.requests[0].text
