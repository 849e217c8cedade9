"""Interfaces: the REPL's input line — prompt_toolkit with a history file and completion of the
slash commands, tool names and ``/export`` paths; plain ``input()`` (with readline where the
platform has it) when stdin or stdout is not a terminal, the terminal is dumb (``TERM=dumb``:
no cursor movement, e.g. an editor's shell buffer) or prompt_toolkit is missing.

The history file holds one entry a line, oldest first (the format readline writes), so a
history from an earlier version keeps working. Ctrl-C at the prompt raises KeyboardInterrupt
and Ctrl-D on an empty line EOFError, as ``input()`` does.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = ["COMMANDS", "line_reader", "plain_history", "repl_completer"]

#: the slash commands, for completion (the session dispatches them)
COMMANDS: tuple[str, ...] = ("/tools", "/trace", "/export", "/reset", "/help", "/quit")
_MAX_HISTORY = 1000


def _prompt_toolkit() -> Any:
    try:
        import prompt_toolkit
    except ImportError:
        return None
    return prompt_toolkit


def plain_history(path: Path) -> Any:
    """A prompt_toolkit `History` over ``path``: one entry a line, the last 1000 kept."""
    from prompt_toolkit.history import History

    class PlainFileHistory(History):
        def load_history_strings(self) -> Iterable[str]:
            try:
                lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                return []
            return [line for line in reversed(lines[-_MAX_HISTORY:]) if line.strip()]

        def store_string(self, string: str) -> None:
            if "\n" in string or not string.strip():
                return
            with contextlib.suppress(OSError):
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("a", encoding="utf-8") as fh:
                    fh.write(string + "\n")

    return PlainFileHistory()


def repl_completer(tool_names: Callable[[], Sequence[str]]) -> Any:
    """A prompt_toolkit `Completer`: the slash commands at the start of a line, paths after
    ``/export``, tool names anywhere else (the word under the cursor)."""
    from prompt_toolkit.completion import Completer, Completion, PathCompleter
    from prompt_toolkit.document import Document

    paths = PathCompleter(expanduser=True)

    class _Completer(Completer):
        def get_completions(self, document: Document, complete_event: Any
                            ) -> Iterator[Completion]:
            text = document.text_before_cursor
            if text.startswith("/") and " " not in text:
                for name in COMMANDS:
                    if name.startswith(text.lower()):
                        yield Completion(name, start_position=-len(text))
                return
            if text.startswith("/export "):
                word = text.split(" ")[-1]
                if word.startswith("-"):
                    for flag in ("--finetune", "--negatives"):
                        if flag.startswith(word):
                            yield Completion(flag, start_position=-len(word))
                    return
                yield from paths.get_completions(Document(word, len(word)), complete_event)
                return
            if text.startswith("/"):
                return
            word = document.get_word_before_cursor(WORD=True)
            if len(word) < 2:  # a tool name is worth completing only once it is begun
                return
            for name in tool_names():
                if name.startswith(word) and name != word:
                    yield Completion(name, start_position=-len(word))

    return _Completer()


@contextlib.contextmanager
def _readline(path: Path) -> Iterator[None]:
    """Line editing and a persistent history for plain ``input()``, where there is readline."""
    try:
        import readline
    except ImportError:
        yield
        return
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        readline.read_history_file(path)
    readline.set_history_length(_MAX_HISTORY)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            readline.write_history_file(path)


@contextlib.contextmanager
def line_reader(history: Path, tool_names: Callable[[], Sequence[str]], *,
                interactive: bool | None = None) -> Iterator[Callable[[str], str]]:
    """``read(prompt) -> line`` for the ``with`` block: prompt_toolkit when ``interactive``
    (default: stdin and stdout are terminals) and installed, else ``input()``."""
    if interactive is None:
        dumb = os.environ.get("TERM", "").lower() in ("dumb", "unknown")
        interactive = sys.stdin.isatty() and sys.stdout.isatty() and not dumb
    ptk = _prompt_toolkit() if interactive else None
    if ptk is None:
        with _readline(history):
            yield input
        return
    from prompt_toolkit import PromptSession
    from prompt_toolkit.shortcuts import CompleteStyle

    session: Any = PromptSession(history=plain_history(history),
                                 completer=repl_completer(tool_names),
                                 complete_style=CompleteStyle.READLINE_LIKE,
                                 complete_while_typing=False, enable_history_search=True)

    def read(prompt: str) -> str:
        return str(session.prompt(prompt))

    yield read
