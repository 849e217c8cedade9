"""The whole path on a tiny random Qwen2 (seconds, no download): records → finetune → PEFT and GGUF
adapters → llama.cpp loads base + adapter → its greedy proposals are the trained steps; the
adapter round trip (PEFT and GGUF give the same logits); reply-only loss, packing, checkpoints,
resume and out-of-memory. Skipped without the train extra (and llama.cpp, where it is used)."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

EXTRA = "the training tests need the train extra: pip install 'agentrt[train]'"
torch = pytest.importorskip("torch", reason=EXTRA)
pytest.importorskip("peft", reason=EXTRA)
pytest.importorskip("gguf", reason=EXTRA)
np = pytest.importorskip("numpy", reason=EXTRA)

from agentrt.backends.native import ChatTemplate, render_prompt  # noqa: E402
from agentrt.errors import ConfigError  # noqa: E402
from agentrt.training import forward  # noqa: E402
from agentrt.training.adapter_import import read_init_adapter  # noqa: E402
from agentrt.training.base import Tokenizer, inspect_base, load_model, load_tokenizer  # noqa: E402
from agentrt.training.errors import TrainingError  # noqa: E402
from agentrt.training.examples import step_text, tokenize_steps  # noqa: E402
from agentrt.training.export import peft_to_gguf, read_gguf_adapter  # noqa: E402
from agentrt.training.pipeline import (  # noqa: E402
    FinetuneManifest,
    check_tokenizer,
    finetune,
    prepare,
)
from agentrt.training.records import read_records  # noqa: E402
from agentrt.training.trainer import (  # noqa: E402
    LoraSettings,
    TrainSettings,
    attach_lora,
    last_checkpoint,
    train,
)
from tests.training import tiny_model as tm  # noqa: E402

LORA = LoraSettings(r=8, alpha=16)
FAST = TrainSettings(epochs=40, learning_rate=1e-2, checkpoint_every=20, precision="fp32")


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("tiny")
    base = tm.write_tiny_gguf(root / "tiny.gguf")
    data = tm.write_records(root / "records.jsonl")
    info = inspect_base(base)
    return {"root": root, "base": base, "data": data, "info": info,
            "tokenizer": load_tokenizer(info), "records": read_records([data])}


@pytest.fixture(scope="module")
def trained(bed: dict[str, Any]) -> tuple[Path, FinetuneManifest]:
    out = bed["root"] / "out"
    return out, finetune([bed["data"]], out, base=bed["base"], lora=LORA, settings=FAST)


def _llama(base: Path, lora: Path | None = None, **kw: Any) -> Any:
    llama_cpp = pytest.importorskip("llama_cpp", reason="needs llama-cpp-python (embedded)")
    return llama_cpp.Llama(model_path=str(base), lora_path=str(lora) if lora else None,
                           n_ctx=512, verbose=False, **kw)


def _propose(llm: Any, record: Any, *, max_tokens: int = 60) -> str:
    """The model's reply to the record's prompt, decoded greedily by llama.cpp up to the end
    of turn (special tokens kept as text)."""
    import numpy as np

    prompt = render_prompt(ChatTemplate(tm.TEMPLATE), record.messages, record.tools)
    llm.reset()
    llm.eval(llm.tokenize(prompt.encode(), add_bos=False, special=True))
    out: list[int] = []
    while len(out) < max_tokens:
        token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        if token == llm.token_eos():
            break
        out.append(token)
        llm.eval([token])
    return str(llm.detokenize(out, special=True).decode("utf-8", "replace"))


def test_records_to_adapters_to_llama_cpp_proposals(bed: dict[str, Any],
                                                     trained: tuple[Path, FinetuneManifest]
                                                     ) -> None:
    out, manifest = trained
    assert manifest.data["records"] == 2 and manifest.data["sequences"] == 1  # packed
    assert manifest.training["steps"] == 40 and manifest.training["tokens_per_second"] > 0
    losses = [p["loss"] for p in manifest.loss_curve]
    assert len(losses) == 40 and losses[-1] < losses[0] / 10
    assert json.loads((out / "training.json").read_text()) == json.loads(
        manifest.model_dump_json())
    gguf_info = read_gguf_adapter(out / "adapter.gguf")
    meta = gguf_info["metadata"]
    assert (meta["general.type"], meta["adapter.type"], meta["general.architecture"]) == \
        ("adapter", "lora", "qwen2")
    assert meta["adapter.lora.alpha"] == pytest.approx(16.0)
    shapes = gguf_info["tensors"]
    assert shapes["blk.0.attn_q.weight.lora_a"] == (8, 64)      # (r, in)
    assert shapes["blk.1.ffn_down.weight.lora_b"] == (64, 8)    # (out, r)
    assert len(shapes) == 2 * 7 * 2 and not any("token_embd" in n or n.split(".")[0] == "output"
                                                for n in shapes)
    assert manifest.artifacts["gguf"]["bytes"] == (out / "adapter.gguf").stat().st_size

    call, answer = bed["records"]
    tuned = _llama(bed["base"], out / "adapter.gguf", logits_all=True)
    assert _propose(tuned, call) == ('<tool_call>\n{"name": "get_airport", "arguments": '
                                     '{"code": "LIS"}}\n</tool_call>')
    assert _propose(tuned, answer) == tm.ANSWER
    stock = _llama(bed["base"], logits_all=True)
    assert _propose(stock, answer) != tm.ANSWER  # the adapter made the difference
    assert not _propose(stock, call).startswith("<tool_call>")


def _prompt_ids(bed: dict[str, Any]) -> list[int]:
    text = step_text(ChatTemplate(tm.TEMPLATE), bed["records"][1], eot="<|im_end|>")
    return bed["tokenizer"].encode(text.prompt + text.target)


@pytest.mark.parametrize("dtype", ["f16", "f32"])
def test_peft_and_gguf_adapters_give_the_same_logits(bed: dict[str, Any],
                                                     trained: tuple[Path, FinetuneManifest],
                                                     tmp_path: Path, dtype: str) -> None:
    from peft import PeftModel

    out, _ = trained
    gguf_path = peft_to_gguf(out / "adapter", tmp_path / f"a-{dtype}.gguf",
                             architecture="qwen2", n_layers=2, dtype=dtype)  # type: ignore[arg-type]
    ids = _prompt_ids(bed)
    model = PeftModel.from_pretrained(load_model(bed["info"]), str(out / "adapter")).eval()
    with torch.no_grad():
        peft_logits = model(torch.tensor([ids])).logits[0].numpy()
        with model.disable_adapter():
            base_logits = model(torch.tensor([ids])).logits[0].numpy()
    import numpy as np

    llm = _llama(bed["base"], gguf_path, logits_all=True)
    llm.eval(ids)
    cpp_logits = np.array(llm.scores[: len(ids)])
    changed = np.abs(peft_logits - base_logits).max()
    assert changed > 1.0  # the adapter moves the logits a lot …
    assert np.abs(peft_logits - cpp_logits).max() < 0.01 * changed  # … and both runtimes agree
    assert (peft_logits[-5:].argmax(-1) == cpp_logits[-5:].argmax(-1)).all()


def test_the_loss_covers_reply_tokens_only_and_equals_the_masked_full_loss(
        bed: dict[str, Any]) -> None:
    packing = prepare(bed["records"], bed["info"], bed["tokenizer"], max_length=4096)
    [seq] = packing.sequences
    model = attach_lora(load_model(bed["info"]), LORA)
    ids = torch.tensor([seq.ids])
    labels = torch.full_like(ids, -100)
    for start, end in seq.spans:
        labels[0, start:end] = ids[0, start:end]
    with torch.no_grad():
        full = model(input_ids=ids, labels=labels).loss
        ours = forward.loss_sum(model, [seq], bed["tokenizer"].pad_id,
                                torch.device("cpu")) / seq.target_tokens
    assert float(ours) == pytest.approx(float(full), rel=1e-5)


def test_packing_gives_the_gradients_of_the_separate_steps(bed: dict[str, Any]) -> None:
    template = ChatTemplate(tm.TEMPLATE)
    texts = [step_text(template, r, eot="<|im_end|>") for r in bed["records"]]
    steps = tokenize_steps(texts, bed["tokenizer"].encode)
    [packed] = prepare(bed["records"], bed["info"], bed["tokenizer"], max_length=4096).sequences
    model = attach_lora(load_model(bed["info"]), LORA)
    torch.nn.init.normal_(next(p for n, p in model.named_parameters() if "lora_B" in n))
    cpu, pad = torch.device("cpu"), bed["tokenizer"].pad_id

    def grads(groups: list[list[Any]]) -> tuple[float, list[Any]]:
        model.zero_grad()
        total = sum(forward.loss_sum(model, g, pad, cpu, sharing=False) for g in groups)
        total.backward()
        return float(total.detach()), [p.grad.clone() for p in model.parameters() if p.requires_grad]

    loss_packed, g_packed = grads([[packed]])
    loss_apart, g_apart = grads([[s] for s in steps])
    assert loss_packed == pytest.approx(loss_apart, rel=1e-5)
    worst = max(float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))
                for a, b in zip(g_packed, g_apart, strict=True))
    assert worst < 1e-4


def test_a_shared_prefix_runs_once_with_the_same_loss_and_gradients(bed: dict[str, Any]
                                                                   ) -> None:
    from agentrt.training.examples import TokenSequence

    [seq] = prepare(bed["records"], bed["info"], bed["tokenizer"], max_length=4096).sequences
    ids = list(seq.ids)
    group = [seq,  # three sequences that share their first 200 tokens, with loss spans inside
             TokenSequence(ids=(*ids[:300], 65, 66, 67, *ids[300:320]), spans=((150, 310),),
                           records=(1,)),
             TokenSequence(ids=(*ids[:200], *[70] * 30), spans=((200, 230),), records=(2,))]
    assert forward.common_prefix(group) == 200
    assert forward.computed_tokens(group) == 200 + 3 * (len(seq) - 200)
    assert forward.computed_tokens(group, sharing=False) == 3 * len(seq)
    model = attach_lora(load_model(bed["info"]), LORA)
    for name, p in model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.05)
    cpu, pad = torch.device("cpu"), bed["tokenizer"].pad_id

    def run(sharing: bool) -> tuple[float, list[Any]]:
        model.zero_grad()
        loss = forward.loss_sum(model, group, pad, cpu, sharing=sharing)
        loss.backward()
        return float(loss.detach()), [p.grad.clone() for p in model.parameters()
                                      if p.requires_grad]

    (shared, g_shared), (full, g_full) = run(True), run(False)
    assert shared == pytest.approx(full, rel=1e-5)
    worst = max(float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))
                for a, b in zip(g_shared, g_full, strict=True))
    assert worst < 1e-4
    # 800 evaluated tokens hold all three rows when the prefix is shared, not otherwise
    assert [len(g) for g in forward.micro_batches(group, 800)] == [3]
    assert len(list(forward.micro_batches(group, 800, sharing=False))) > 1


@pytest.mark.parametrize("top_layers", [None, 1])
def test_the_step_prefix_runs_once_per_step_with_the_same_loss_and_gradients(
        bed: dict[str, Any], top_layers: int | None) -> None:
    from agentrt.training.examples import TokenSequence

    [seq] = prepare(bed["records"], bed["info"], bed["tokenizer"], max_length=4096).sequences
    ids = list(seq.ids)
    first = min(seq.loss_positions())
    step = [seq,  # four sequences sharing a prefix that ends before the first loss position
            TokenSequence(ids=(*ids[:first], 65, 66, 67, 68), spans=((first + 1, first + 4),),
                          records=(1,)),
            TokenSequence(ids=(*ids[:first], *[70] * 30), spans=((first, first + 30),),
                          records=(2,)),
            TokenSequence(ids=(*ids[:first - 5], 71, 72, 73), spans=((first - 4, first - 2),),
                          records=(3,))]
    assert forward.step_prefix(step) == first - 5
    model = attach_lora(load_model(bed["info"]), replace(LORA, top_layers=top_layers))
    adapted = {n.split(".layers.")[1].split(".")[0] for n, p in model.named_parameters()
               if p.requires_grad}
    assert adapted == ({"1"} if top_layers == 1 else {"0", "1"})
    for name, p in model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.05)
    cpu, pad = torch.device("cpu"), bed["tokenizer"].pad_id
    scale = 1.0 / sum(s.target_tokens for s in step)

    def grads() -> list[Any]:
        out = [p.grad.clone() for p in model.parameters() if p.requires_grad]
        model.zero_grad()
        return out

    model.zero_grad()
    # a small limit: every suffix is a micro-batch of its own, the prefix still runs once
    shared, computed = forward.backward_step(model, step, pad, cpu, limit=40, scale=scale)
    g_shared = grads()
    own = sum(len(s) - (first - 5) for s in step)
    assert (first - 5) + own <= computed <= (first - 5) + own + 10  # a little padding
    assert computed < sum(len(s) for s in step) / 2
    full = 0.0
    for s in step:
        loss = forward.loss_sum(model, [s], pad, cpu, sharing=False) * scale
        loss.backward()
        full += float(loss.detach())
    g_full = grads()
    assert shared == pytest.approx(full, rel=1e-5)
    worst = max(float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))
                for a, b in zip(g_shared, g_full, strict=True))
    assert worst < 1e-4
    # without sharing the same call gives the same gradients the long way
    unshared, computed_full = forward.backward_step(model, step, pad, cpu, limit=40,
                                                    scale=scale, sharing=False)
    assert unshared == pytest.approx(full, rel=1e-5)
    assert computed_full == sum(len(s) for s in step)


def _run(bed: dict[str, Any], out: Path, **kw: Any) -> Any:
    packing = prepare(bed["records"], bed["info"], bed["tokenizer"], max_length=4096)
    model = attach_lora(load_model(bed["info"]), LORA, seed=0)
    settings = TrainSettings(epochs=6, learning_rate=5e-3, checkpoint_every=2, precision="fp32")
    result = train(model, packing.sequences, pad_id=bed["tokenizer"].pad_id, out=out,
                   settings=settings, **kw)
    return model, result


def _lora_state(model: Any) -> dict[str, Any]:
    return {k: v.detach().clone() for k, v in model.state_dict().items() if "lora_" in k}


def test_an_interrupted_run_leaves_a_usable_checkpoint_and_resumes_to_the_same_adapter(
        bed: dict[str, Any], tmp_path: Path) -> None:
    from peft import PeftModel

    straight, _ = _run(bed, tmp_path / "a")

    def stop_at_3(stats: Any) -> None:
        if stats.step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(bed, tmp_path / "b", on_step=stop_at_3)
    ckpt = last_checkpoint(tmp_path / "b")
    assert ckpt is not None and ckpt.name == "step-00000002"
    # a checkpoint being written when the process died never counts
    (tmp_path / "b" / "checkpoints" / ".step-00000004.tmp-1").mkdir()
    shutil.copytree(ckpt, tmp_path / "b" / "checkpoints" / "step-00000004")
    (tmp_path / "b" / "checkpoints" / "step-00000004" / "state.json").unlink()
    assert last_checkpoint(tmp_path / "b") == ckpt
    PeftModel.from_pretrained(load_model(bed["info"]), str(ckpt))  # a usable adapter as it is

    resumed, result = _run(bed, tmp_path / "b", resume=True)
    assert result.resumed_from == 2 and result.steps == 4
    a, b = _lora_state(straight), _lora_state(resumed)
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    curve_a = [json.loads(x) for x in (tmp_path / "a" / "loss.jsonl").read_text().splitlines()]
    curve_b = [json.loads(x) for x in (tmp_path / "b" / "loss.jsonl").read_text().splitlines()]
    assert [c["step"] for c in curve_b] == [1, 2, 3, 4, 5, 6]
    assert [c["loss"] for c in curve_b] == pytest.approx([c["loss"] for c in curve_a], rel=1e-5)


def test_resume_refuses_other_data(bed: dict[str, Any], tmp_path: Path) -> None:
    _run(bed, tmp_path / "c", on_step=None)
    packing = prepare(bed["records"][:1], bed["info"], bed["tokenizer"], max_length=4096)
    model = attach_lora(load_model(bed["info"]), LORA)
    with pytest.raises(TrainingError, match="other training data"):
        train(model, packing.sequences, pad_id=0, out=tmp_path / "c", resume=True,
              settings=TrainSettings(checkpoint_every=2, precision="fp32"))


def test_out_of_memory_names_the_last_checkpoint(bed: dict[str, Any], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    real, calls = forward.loss_sum, []

    def flaky(*args: Any, **kw: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to "
                               "allocate 123456789 bytes")
        return real(*args, **kw)

    monkeypatch.setattr(forward, "loss_sum", flaky)
    with pytest.raises(TrainingError, match="out of memory at step 3") as info:
        _run(bed, tmp_path / "d")
    assert info.value.checkpoint is not None and info.value.checkpoint.endswith("step-00000002")
    assert "--resume" in str(info.value)


def test_the_tokenizer_matches_llama_cpp_and_the_check_catches_a_split_tool_tag(
        bed: dict[str, Any]) -> None:
    pytest.importorskip("llama_cpp", reason="needs llama-cpp-python (embedded)")
    text = step_text(ChatTemplate(tm.TEMPLATE), bed["records"][1], eot="<|im_end|>")
    assert check_tokenizer(bed["info"], bed["tokenizer"], [text.prompt + text.target]) == 1
    raw = bed["tokenizer"].hf.__class__.from_pretrained(str(bed["base"].parent),
                                                        gguf_file=bed["base"].name)
    plain = Tokenizer(encode=lambda s: list(raw(s, add_special_tokens=False)["input_ids"]),
                      pad_id=0, hf=raw)
    assert len(plain.encode("<tool_call>")) > 1  # what transformers' GGUF tokenizer does
    with pytest.raises(ConfigError, match="disagree"):
        check_tokenizer(bed["info"], plain, [text.prompt + text.target])


def test_the_cli_trains_in_bf16_and_writes_both_adapters(bed: dict[str, Any], tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    from agentrt.cli import main

    out = tmp_path / "cli"
    code = main(["finetune", str(bed["data"]), "--out", str(out), "--base", str(bed["base"]),
                 "--max-steps", "2", "--rank", "4", "--targets", "attn", "--threads", "1",
                 "--precision", "bf16"])  # forced: auto is fp32 on CPUs without native bf16
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "step 2: loss" in captured.err and "GGUF adapter:" in captured.out
    manifest = json.loads((out / "training.json").read_text())
    assert manifest["training"]["precision"] == "bf16" and manifest["lora"]["r"] == 4
    assert set(read_gguf_adapter(out / "adapter.gguf")["tensors"]) == {
        f"blk.{i}.attn_{t}.weight.lora_{ab}" for i in range(2)
        for t in ("q", "k", "v", "output") for ab in "ab"}


def test_an_adapter_reads_back_from_both_forms_in_its_own_shape(
        bed: dict[str, Any], trained: tuple[Path, FinetuneManifest]) -> None:
    out, _ = trained
    info = bed["info"]
    peft = read_init_adapter(out / "adapter", architecture=info.architecture,
                             n_layers=info.n_layers)
    gguf = read_init_adapter(out / "adapter.gguf", architecture=info.architecture,
                             n_layers=info.n_layers)
    assert (peft.form, gguf.form) == ("peft", "gguf")
    assert peft.lora == gguf.lora == LORA  # rank, alpha, targets and layers from the file
    assert peft.tensors.keys() == gguf.tensors.keys() and len(peft.tensors) == 2 * 7 * 2
    for key, value in peft.tensors.items():
        assert gguf.tensors[key].shape == value.shape
        assert np.allclose(gguf.tensors[key], value, rtol=1e-3, atol=1e-5), key
    # a two-layer adapter does not fit a three-layer decoder's top layers
    with pytest.raises(ConfigError, match="not the top N"):
        read_init_adapter(out / "adapter.gguf", architecture=info.architecture, n_layers=3)
    with pytest.raises(ConfigError, match="an adapter for"):
        read_init_adapter(out / "adapter.gguf", architecture="llama", n_layers=info.n_layers)


def test_bad_init_adapters_are_config_errors(bed: dict[str, Any], tmp_path: Path) -> None:
    info = bed["info"]
    kw = {"architecture": info.architecture, "n_layers": info.n_layers}
    with pytest.raises(ConfigError, match="not a LoRA adapter"):
        read_init_adapter(bed["base"], **kw)  # the base model itself is a GGUF, not an adapter
    with pytest.raises(ConfigError, match=r"without adapter_config\.json"):
        read_init_adapter(tmp_path, **kw)
    with pytest.raises(ConfigError, match="no such file"):
        read_init_adapter(tmp_path / "missing.gguf", **kw)
    (tmp_path / "junk.gguf").write_bytes(b"GGUF but not really")
    with pytest.raises(ConfigError, match="not a readable GGUF"):
        read_init_adapter(tmp_path / "junk.gguf", **kw)


def test_finetune_continues_from_a_gguf_adapter(bed: dict[str, Any],
                                                trained: tuple[Path, FinetuneManifest],
                                                tmp_path: Path) -> None:
    out, first = trained
    settings = TrainSettings(max_steps=2, learning_rate=1e-3, precision="fp32")
    more = finetune([bed["data"]], tmp_path / "more", base=bed["base"], settings=settings,
                    init_adapter=out / "adapter.gguf")
    fresh_loss = first.loss_curve[0]["loss"]     # the base model's loss (LoRA B starts at 0)
    trained_loss = first.loss_curve[-1]["loss"]
    # the first step is measured before any update: it is the shipped adapter's loss
    assert more.loss_curve[0]["loss"] == pytest.approx(trained_loss, rel=0.25, abs=0.05)
    assert more.loss_curve[0]["loss"] < fresh_loss / 4
    start = more.training["init_adapter"]
    assert start["form"] == "gguf" and start["r"] == 8 and start["tensors"] == 28
    assert start["sha256"] == hashlib.sha256((out / "adapter.gguf").read_bytes()).hexdigest()
    assert more.lora == first.lora
    with pytest.raises(ConfigError, match="not LoraSettings"):
        finetune([bed["data"]], tmp_path / "other", base=bed["base"], settings=settings,
                 lora=LoraSettings(r=4, alpha=8), init_adapter=out / "adapter.gguf")
