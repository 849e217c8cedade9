"""Interfaces: the REPL's session — read a line, run it through the Agent on one event loop with
the search shown as it grows (a live rich tree and the answer in a panel on a terminal with
colour; the plain line-per-event text otherwise), ask before side effects, and the slash commands.

Ctrl-C during a run cancels that run's task (a model step already running in a worker thread is
waited for, so the model is never used by two threads); at the prompt it only clears the line.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from agentrt.cli.common import close_backend, drain_pool, install_pool
from agentrt.cli.confirm import ask_before_sending
from agentrt.cli.render import (
    calls_table,
    live_renderer,
    render_result,
    render_tree,
    rich_console,
    rich_tree,
    tools_table,
)
from agentrt.errors import AgentRTError

__all__ = ["HELP", "Session", "history_path"]

HELP = """\
Type a request in words; the agent searches, calls the APIs and answers.
Commands:
  /tools            the tools on offer (! unsafe: asks before sending, ~ idempotent)
  /trace            the search tree of the last run
  /export FILE      the session's runs as JSONL (agentrt export reads it)
  /export --finetune FILE [--negatives FILE2]   fine-tuning data from the solved runs
  /reset            forget the session's runs
  /help             this text
  /quit             leave (Ctrl-D works too)
Ctrl-C stops the current run, not the REPL."""


def history_path() -> Path:
    """``$AGENTRT_HOME/repl_history``, else ``~/.cache/agentrt/repl_history``."""
    home = os.environ.get("AGENTRT_HOME")
    base = Path(home) if home else Path.home() / ".cache" / "agentrt"
    return base / "repl_history"


def _forget_last_input(text: str) -> None:
    """Keep y/n answers out of the readline history."""
    try:
        import readline
    except ImportError:
        return
    n = readline.get_current_history_length()
    if n and text and readline.get_history_item(n) == text:
        with contextlib.suppress(ValueError):
            readline.remove_history_item(n - 1)


class Session:
    """One interactive session over an agent factory (``policy -> Agent``)."""

    def __init__(self, make_agent: Callable[[Any], Any], toolset: Any, *, policy: str,
                 loop: asyncio.AbstractEventLoop | None = None, out: TextIO | None = None,
                 verbose: bool = False, remember: str | None = None) -> None:
        self.out = out or sys.stdout
        #: record solved runs as demonstrations here ("" the user's store; None: not at all)
        self.remember = remember
        self.toolset = toolset
        self.verbose = verbose
        self.runs: list[Any] = []
        self.loop = loop or asyncio.new_event_loop()
        install_pool(self.loop)
        self.prompting = False
        self.task: asyncio.Task[Any] | None = None
        #: the live view of the run in progress (a rich one is paused for a confirmation)
        self.renderer: Any = None
        #: rich output (tables, the tree) on ``out``; None: plain text
        self.console = rich_console(self.out)
        self.agent = make_agent(self._policy(policy))

    # -- side effects --------------------------------------------------------------------------
    def _policy(self, mode: str) -> Any:
        from agentrt.executor import Policy

        if mode == "confirm":
            return Policy.confirm(self._confirm)
        if mode == "guard":  # what the provenance does not clear is asked about here
            return Policy.guard(self._confirm)
        return Policy.from_value(mode)

    def _confirm(self, request: Any) -> bool:
        pause = getattr(self.renderer, "pause", None)
        if pause is not None:
            pause()  # the live tree stays printed; the next event draws it again below
        return ask_before_sending(request, write=self._write_raw, read=self._read_answer,
                                  on_interrupt=self._stop_run)

    def _read_answer(self, prompt: str) -> str:
        self.prompting = True  # Ctrl-C now interrupts input(), not the run (see _on_sigint)
        try:
            answer = input(prompt)
        finally:
            self.prompting = False
        _forget_last_input(answer)
        return answer

    def _stop_run(self) -> None:
        if self.task is not None:
            self.task.cancel()

    # -- running -------------------------------------------------------------------------------
    def write(self, text: str) -> None:
        self._write_raw(text + "\n")

    def _write_raw(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def _on_sigint(self, _signum: int, _frame: Any) -> None:
        if self.prompting:
            raise KeyboardInterrupt
        task = self.task
        if task is not None and not task.done():
            self.loop.call_soon_threadsafe(task.cancel)

    def ask(self, query: str) -> Any:
        """Run ``query``; returns the result, or None when stopped or failed."""
        import time

        renderer = self.renderer = live_renderer(self.out, self.console, verbose=self.verbose)
        self.task = self.loop.create_task(self.agent.run(query, on_event=renderer))
        previous = signal.signal(signal.SIGINT, self._on_sigint)
        started = time.perf_counter()
        try:
            try:
                result = self.loop.run_until_complete(self.task)
            finally:  # the live view ends before anything else is written
                pause = getattr(renderer, "pause", None)
                if pause is not None:
                    pause()
                self.renderer = None
        except asyncio.CancelledError:
            self.write("stopped.")
            self._drain()
            return None
        except AgentRTError as exc:
            self.write(f"error: {exc}")
            return None
        finally:
            signal.signal(signal.SIGINT, previous)
            self.task = None
        if self.console is not None and result.calls:
            self.out.write("\n")
            self.console.print(calls_table(result))
        render_result(result, self.out, seconds=time.perf_counter() - started,
                      console=self.console)
        self.runs.append(result)
        if self.remember is not None:
            from agentrt.cli.run import remember_run

            remember_run(result, self.toolset, self.remember, self.out)
        return result

    def _drain(self) -> None:
        """Wait for worker threads a cancelled run left behind (a model step in progress), so
        the model is never used by two threads."""
        with contextlib.suppress(KeyboardInterrupt):
            drain_pool(install_pool(self.loop))

    def close(self) -> None:
        """Release the backend and the loop."""
        with contextlib.suppress(Exception):
            self.loop.run_until_complete(close_backend(self.agent.backend))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()

    # -- commands ------------------------------------------------------------------------------
    def command(self, line: str) -> bool:
        """Run a slash command; False means quit."""
        try:
            words = shlex.split(line)
        except ValueError as exc:
            self.write(f"error: {exc}")
            return True
        name, rest = words[0].lower(), words[1:]
        if name in ("/quit", "/exit", "/q"):
            return False
        handler = {"/help": self._help, "/tools": self._tools, "/trace": self._trace,
                   "/export": self._export, "/reset": self._reset}.get(name)
        if handler is None:
            self.write(f"unknown command {name}; /help lists them")
        else:
            try:
                handler(rest)
            except (AgentRTError, OSError) as exc:
                self.write(f"error: {exc}")
        return True

    def _help(self, _rest: list[str]) -> None:
        self.write(HELP)

    def _tools(self, _rest: list[str]) -> None:
        if self.console is not None:
            self.console.print(tools_table(self.toolset))
            self.write(f"{len(self.toolset.tools)} tools ( ! unsafe: asks before sending, "
                       "~ idempotent )")
            return
        marks = {"safe": " ", "idempotent": "~", "unsafe": "!"}
        width = max((len(t.name) for t in self.toolset.tools), default=4)
        for t in self.toolset.tools:
            self.write(f"{marks.get(t.side_effect, '?')} {t.name:<{width}}  {t.method:<6} "
                       f"{t.path}  {t.description[:60]}")
        self.write(f"{len(self.toolset.tools)} tools")

    def _trace(self, _rest: list[str]) -> None:
        if not self.runs:
            self.write("no run yet")
            return
        last = self.runs[-1]
        if self.console is not None:
            self.console.print(rich_tree(last.tree))
        else:
            self.write(render_tree(last.tree, self.out))
        self.write(f"status {last.status}; path {' → '.join(map(str, last.path)) or '-'}")

    def _export(self, rest: list[str]) -> None:
        from agentrt.trace import export_finetune, write_jsonl

        if not rest:
            self.write("usage: /export FILE  or  /export --finetune FILE [--negatives FILE2]")
            return
        if rest[0] == "--finetune":
            if len(rest) < 2:
                self.write("usage: /export --finetune FILE [--negatives FILE2]")
                return
            negatives = rest[3] if len(rest) >= 4 and rest[2] == "--negatives" else None
            counts = export_finetune(self.runs, rest[1], negatives=negatives)
            self.write(f"wrote {counts.get('positives', 0)} transcript(s) to {rest[1]}"
                       + (f", {counts.get('negatives', 0)} rejected candidate(s) to "
                          f"{negatives}" if negatives else ""))
            return
        count = write_jsonl(self.runs, rest[0])
        self.write(f"wrote {count} run(s) to {rest[0]}")

    def _reset(self, _rest: list[str]) -> None:
        self.runs.clear()
        self.write("session cleared")
