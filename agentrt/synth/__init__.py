"""Synth stage (above the agent): tasks + a teacher → verified trajectories, one JSONL record per
model step, the training data of ``agentrt finetune``.

Every task runs through the real :class:`~agentrt.agent.Agent` — search, validation, executor,
answer checks — against live services; a run is kept only when the task's checker accepts it
(or, for tasks without a checker, when it is solved with an answer). The records are built from
the run's tree by :func:`agentrt.trace.step_records`, which rebuilds each model request with the
prompt's own builder (:func:`agentrt.prompts.build_messages`): a record holds exactly the
messages the backend received for that step.

Record format (``agentrt.step/1``, one JSON object per line; the pydantic model is
:class:`agentrt.trace.StepRecord`, validate a line with ``StepRecord.model_validate_json``)::

    {
      "format": "agentrt.step/1",
      "messages": [...],   # exactly what backend.propose() received for this step, OpenAI chat
                           # format: system (rules, instructions, demonstration), user (the
                           # request), the path so far as assistant tool_calls + tool turns,
                           # and last, when there was something to say, a user turn of notes
                           # (rejected proposals and their violations, failed attempts, ...)
      "tools": [...],      # the tools offered in that request, OpenAI format (finish included;
                           # native templates leave finish out, see backends.native)
      "reply": {...},      # the training target, one assistant turn:
                           #   a call:   {"role": "assistant", "content": thought or null,
                           #              "tool_calls": [{"id": "call_<node>", "type": "function",
                           #              "function": {"name": ..., "arguments": "<JSON>"}}]}
                           #   an answer ("native" format): {"role": "assistant",
                           #              "content": "<plain-text answer>"}
                           #   an answer (other formats): a finish call, return_type give_answer
      "kind": "call" | "answer",
      "tool_call_format": "native" | "json" | "openai",   # how the backend spoke
      "step": 0,           # index of this step on the solved path (0 = the first model step)
      "steps": 3,          # steps on the path (the last one is the answer)
      "node": 4,           # the tree node of the reply, and the model request that produced it
      "request": 5,
      "repair": false,     # true when an earlier proposal at this point was rejected or failed
                           # (the messages end with the notes about it)
      "provenance": {"task_id": ..., "category": ..., "seed": ..., "teacher": ...,
                     "query": ...,         # the user's request
                     "recovery": bool}     # some step of this run is a repair (see "repair")
    }

Only steps on the solved path are records (rejected proposals are never targets; they are in
the run's tree and in :func:`agentrt.trace.negative_records`). For native-format training,
render ``messages`` with ``backends.native.render_prompt(template, messages, tools)`` and the
reply with the same template (``native_messages`` turns a finish call into plain text).

``agentrt synth`` writes the records to ``--out`` and a summary beside it
(``<out>.summary.json``: tasks tried, kept, by category, recovery share, rejected reasons,
seconds). The loop itself is :func:`agentrt.synth.run.asynthesize`; the demo's generator and
programmatic teacher are ``agentrt_demo.generate`` and ``agentrt_demo.teacher``.
"""

from __future__ import annotations
