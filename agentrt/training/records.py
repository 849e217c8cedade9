"""Training stage: reading training data — the per-step records ``agentrt synth`` writes
(format ``agentrt.step/1``, documented in :mod:`agentrt.synth`), one JSON object a line.

Only what training needs is checked here: the messages the backend received, the tools it was
offered and the reply (one call or a plain-text answer) — the rest of a record (step, node,
provenance, …) is kept as it is. A line that is broken (not JSON, a missing or malformed field)
or foreign (another format, a reply in a format other than the model's native one) stops the
read with a :class:`~agentrt.training.errors.DataError` naming the line and the reason; blank
lines are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentrt.protocol import FINISH
from agentrt.training.errors import DataError

__all__ = ["STEP_FORMAT", "TrainingRecord", "check_record", "parse_line", "read_records"]

#: the record format training reads (``agentrt.trace.StepRecord``)
STEP_FORMAT = "agentrt.step/1"
_ROLES = frozenset({"system", "user", "assistant", "tool"})


class TrainingRecord(BaseModel):
    """One model step: the fields of ``agentrt.step/1`` that training reads (others kept)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    format: str = STEP_FORMAT
    messages: list[dict[str, Any]] = Field(min_length=1)
    tools: list[dict[str, Any]]
    reply: dict[str, Any]
    tool_call_format: str = "native"
    provenance: dict[str, Any] = Field(default_factory=dict)

    @property
    def call(self) -> tuple[str, dict[str, Any]] | None:
        """The reply's call ``(name, arguments)``, or None for a plain-text answer (a
        ``finish`` call is an answer)."""
        calls = self.reply.get("tool_calls") or []
        if not calls:
            return None
        fn = calls[0].get("function") or {}
        if fn.get("name") == FINISH:
            return None
        args = fn.get("arguments")
        parsed = json.loads(args) if isinstance(args, str) else args
        return str(fn["name"]), dict(parsed or {})

    @property
    def answer(self) -> str | None:
        """The reply's plain-text answer (a ``finish`` call's ``final_answer`` included)."""
        calls = self.reply.get("tool_calls") or []
        if calls:
            fn = calls[0].get("function") or {}
            if fn.get("name") != FINISH:
                return None
            args = fn.get("arguments")
            parsed = json.loads(args) if isinstance(args, str) else args
            return str((parsed or {}).get("final_answer") or "")
        return str(self.reply.get("content") or "")


def _tool_name(tool: Mapping[str, Any]) -> str:
    fn = tool.get("function")
    return str((fn if isinstance(fn, Mapping) else tool).get("name") or "")


def _arguments(fn: Mapping[str, Any]) -> Any:
    args = fn.get("arguments")
    if isinstance(args, str):
        try:
            return json.loads(args)
        except ValueError as exc:
            raise ValueError(f"the reply's arguments are not JSON ({exc})") from None
    return args


def check_record(record: TrainingRecord) -> None:
    """Raise ``ValueError`` (the reason) when ``record`` cannot be a training example."""
    if record.format != STEP_FORMAT:
        raise ValueError(f"foreign record: format {record.format!r}, expected {STEP_FORMAT!r}")
    if record.tool_call_format != "native":
        raise ValueError(f"the reply is in the {record.tool_call_format!r} format; finetune "
                         "trains the model's native format (records with tool_call_format "
                         "'native')")
    for i, message in enumerate(record.messages):
        if message.get("role") not in _ROLES:
            raise ValueError(f"messages[{i}] has role {message.get('role')!r}")
        content = message.get("content")
        if content is not None and not isinstance(content, str):
            raise ValueError(f"messages[{i}].content is a {type(content).__name__}, not text")
    if record.messages[-1].get("role") == "assistant":
        raise ValueError("the last message is the assistant's: there is no turn to learn")
    reply = record.reply
    if reply.get("role", "assistant") != "assistant":
        raise ValueError(f"the reply has role {reply.get('role')!r}, not 'assistant'")
    calls = reply.get("tool_calls") or []
    if len(calls) > 1:
        raise ValueError(f"the reply makes {len(calls)} calls; a step is one call")
    if calls:
        fn = calls[0].get("function") if isinstance(calls[0], Mapping) else None
        if not isinstance(fn, Mapping) or not fn.get("name"):
            raise ValueError("the reply's call has no function name")
        args = _arguments(fn)
        if not isinstance(args, Mapping):
            raise ValueError("the reply's arguments are not a JSON object")
        names = {_tool_name(t) for t in record.tools} | {FINISH}
        if fn["name"] not in names:
            raise ValueError(f"the reply calls {fn['name']!r}, which is not among the "
                             "record's tools")
        if fn["name"] == FINISH and not isinstance(args.get("final_answer"), str):
            raise ValueError("the reply's finish call has no final_answer")
    elif not isinstance(reply.get("content"), str) or not reply["content"].strip():
        raise ValueError("the reply is neither a call nor a non-empty answer")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "record"
    if err.get("type") == "missing":
        return f"not a training record: no {where!r} field (format {STEP_FORMAT})"
    return f"{where}: {err.get('msg')}"


def parse_line(text: str, *, path: str = "", line: int = 0) -> TrainingRecord:
    """One line as a checked record, or a :class:`DataError` saying why not."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise DataError(f"not JSON ({exc})", path=path, line=line) from None
    if not isinstance(data, dict):
        raise DataError(f"a JSON {type(data).__name__}, not an object (one record a line)",
                        path=path, line=line)
    if "format" in data and data["format"] != STEP_FORMAT:
        raise DataError(f"foreign record: format {data['format']!r}, expected {STEP_FORMAT!r}",
                        path=path, line=line)
    try:
        record = TrainingRecord.model_validate(data)
        check_record(record)
    except ValidationError as exc:
        raise DataError(_first_error(exc), path=path, line=line) from None
    except ValueError as exc:
        raise DataError(str(exc), path=path, line=line) from None
    return record


def read_records(paths: Iterable[str | Path]) -> list[TrainingRecord]:
    """Every record of the files, in order; the first bad line raises :class:`DataError`."""
    paths = list(paths)
    out: list[TrainingRecord] = []
    for path in paths:
        name = str(path)
        try:
            with open(path, "rb") as fh:
                for number, raw in enumerate(fh, start=1):
                    try:
                        text = raw.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        raise DataError(f"not UTF-8 text ({exc.reason})", path=name,
                                        line=number) from None
                    if text.strip():
                        out.append(parse_line(text, path=name, line=number))
        except OSError as exc:
            raise DataError(f"cannot read: {exc.strerror or exc}", path=name) from exc
    if not out:
        raise DataError("no training records", path=", ".join(str(p) for p in paths))
    return out
