"""Interfaces: ``agentrt mcp serve SPEC…`` — OpenAPI services offered as MCP tools.

    agentrt mcp serve specs/flights.yaml --base-url http://127.0.0.1:8081 \\
        --credential-env ApiKeyAuth=DEMO_KEY [--policy allow|deny|confirm] [--transport stdio|http]

Every call goes through agentrt's executor (validation, credentials, host allowlist, retries,
idempotency keys); see `agentrt.mcp.server`. With ``--transport http`` the server listens on
``--host``/``--port`` (loopback, any free port by default) and prints ``mcp URL`` on stdout;
with stdio (the default) stdout carries the protocol and nothing else.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agentrt.errors import ConfigError

__all__ = ["DESCRIPTION", "add_arguments", "run"]

DESCRIPTION = ("Model Context Protocol: serve OpenAPI services as MCP tools, every call "
               "checked and sent by agentrt's executor.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    # one action for now; a positional (not nested subparsers) keeps every option on `mcp`
    p.add_argument("action", choices=("serve",),
                   help="serve: offer the specs' operations as MCP tools")
    p.add_argument("specs", nargs="+", metavar="SPEC", help="OpenAPI document (path or URL)")
    p.add_argument("--base-url", action="append", default=[], metavar="URL",
                   help="base URL per SPEC, in order (default: the spec's servers)")
    p.add_argument("--credential", action="append", default=[], metavar="SCHEME=VALUE",
                   help="a secret for a security scheme (visible in ps: prefer "
                        "--credential-env)")
    p.add_argument("--credential-env", action="append", default=[], metavar="SCHEME=VAR",
                   help="read the secret for SCHEME from environment variable VAR")
    p.add_argument("--policy", default="deny", choices=("allow", "deny", "confirm"),
                   help="non-safe calls: allow, deny (default), or confirm (the client is "
                        "asked through MCP elicitation; a client without it is refused)")
    p.add_argument("--transport", default="stdio", choices=("stdio", "http"),
                   help="stdio (default) or streamable HTTP")
    p.add_argument("--host", default="127.0.0.1",
                   help="HTTP: address to bind (the Host header must name it or loopback: "
                        "DNS-rebinding protection)")
    p.add_argument("--port", type=int, default=0, help="HTTP: port (0: any free port)")
    p.add_argument("--path", default="/mcp", help="HTTP: endpoint path (default /mcp)")
    p.add_argument("--name", default="agentrt", help="the server name clients are told")


def run(args: argparse.Namespace) -> int:
    from agentrt.cli.common import parse_credentials, run_async
    from agentrt.toolset import Toolset
    from agentrt.toolset.mcp import require_sdk

    require_sdk()
    if len(args.base_url) > len(args.specs):
        raise ConfigError(f"{len(args.base_url)} --base-url for {len(args.specs)} specs")
    urls = list(args.base_url) + [None] * (len(args.specs) - len(args.base_url))
    toolset = Toolset.from_specs(list(zip(args.specs, urls, strict=True)))
    credentials = parse_credentials(args.credential, args.credential_env)
    run_async(_serve(args, toolset, credentials))
    return 0


async def _serve(args: argparse.Namespace, toolset: Any, credentials: Any) -> None:
    from agentrt.executor import Executor, Policy
    from agentrt.mcp.server import build_server, http_app, serve_stdio

    def executor_factory(policy: Policy) -> Executor:
        return Executor(toolset, credentials=credentials, policy=policy)

    server, executor = build_server(toolset, executor_factory=executor_factory,
                                    policy=args.policy, name=args.name)
    try:
        if args.transport == "stdio":
            await serve_stdio(server)
        else:
            hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
            if args.host not in ("127.0.0.1", "localhost", "::1"):
                hosts.append(f"[{args.host}]:*" if ":" in args.host else f"{args.host}:*")
            await _serve_http(http_app(server, path=args.path, allowed_hosts=hosts), args,
                              len(toolset))
    finally:
        await executor.aclose()


async def _serve_http(app: Any, args: argparse.Namespace, tools: int) -> None:
    import uvicorn

    from agentrt.servers import bind_socket

    sock = bind_socket(args.host, args.port)
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    print(f"mcp http://{shown}:{port}{args.path}", flush=True)
    print(f"agentrt mcp: {tools} tools at http://{shown}:{port}{args.path}, policy "
          f"{args.policy}; Ctrl-C stops", file=sys.stderr, flush=True)
    await server.serve(sockets=[sock])
