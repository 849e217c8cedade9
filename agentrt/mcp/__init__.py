"""MCP stage: agentrt in the Model Context Protocol — a toolset served as MCP tools
(`build_server`, ``agentrt mcp serve``) and MCP tools called by agentrt (`MCPExecutor`; the
tools themselves come from `agentrt.toolset.Toolset.from_mcp`). Needs ``agentrt[mcp]``.

The side-effect marks both ways (MCP annotations ↔ safe / idempotent / unsafe) live in
`agentrt.toolset.marks`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentrt._lazy import attach

if TYPE_CHECKING:
    from agentrt.mcp.client import MCPExecutor, result_body
    from agentrt.mcp.server import build_server, http_app, mcp_tool, serve_stdio

__all__ = ["MCPExecutor", "build_server", "http_app", "mcp_tool", "result_body", "serve_stdio"]

__getattr__, __dir__ = attach(__name__, {
    "MCPExecutor": "agentrt.mcp.client", "result_body": "agentrt.mcp.client",
    "build_server": "agentrt.mcp.server", "http_app": "agentrt.mcp.server",
    "mcp_tool": "agentrt.mcp.server", "serve_stdio": "agentrt.mcp.server",
}, __all__)
