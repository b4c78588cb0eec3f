"""Keystroke latency of Code Llama 7B/13B-shaped models on one GPU, against the plain recipe.

    python -m benchmarks.gpu            # one H100/H200: under 8 minutes
    python -m benchmarks.gpu --dry      # CPU, tiny shapes: checks the script in < 1 minute

Random weights with the exact Code Llama shapes cost the same compute as the
real ones (docs/design.md, "GPU figures"), so no download is needed. For each
of fp16 7B, 4-bit 7B (bitsandbytes nf4) and fp16 13B the script saves a safetensors checkpoint
with the bundled tokenizer to a temporary directory (deleted after use),
loads it through the product's own `load_model` (CUDA: bf16 where supported,
as the server does), builds the engine the server builds (KV reuse, static
cache compiled for CUDA graphs, waiting here for the background compile),
and replays typing a standard-library function into a big file at a
4,096-token context, one request per key:

- single-line (16 new tokens) and multi-line (64) latency per key, p50/p95;
- decode ms/token (the slope between 16 and 64 tokens on a reused prompt)
  against the bandwidth floor: weight bytes ÷ bandwidth of a big
  device-to-device copy measured in the same run (and with the KV cache
  of a 4,096-token context added);
- the Code Llama release's plain recipe on the same prompts: `model.generate`,
  eager, greedy, no cache reuse;
- prompt-lookup drafting (`draftTokens` 8) off and on for the single-line
  replay, in a second table: latency, decode steps per answer, accepted draft
  tokens per step. Random weights write tokens that are not in the document,
  so the lookup rarely drafts; a third row therefore drafts the answer itself
  (taken from the drafting-off run of the same prompts, up to 8 tokens): what
  verification costs and saves on the device when drafts are right. How many
  drafts a real model accepts is measured on CPU (benchmarks/keystrokes.py).

Generations here never stop early (no stop ids), so every request decodes
exactly its 16 or 64 tokens. Rows print as they finish; a config that would
overrun `--budget-s` is skipped and said so.
"""

from __future__ import annotations

import argparse
import gc
import inspect
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

import torch

from lsp_server.engines.transformers.engine import TransformersEngine
from lsp_server.engines.transformers.loader import BUNDLED_MODEL, load_model
from lsp_server.engines.transformers.static_runner import static_cache_bytes
from lsp_server.generation import CancelToken, GenerationRequest, Prompt
from lsp_server.prompts.codellama_ids import PromptBuilder

ROOT = Path(__file__).resolve().parent.parent

SHAPES = {  # docs/design.md: Code Llama 7B and 13B
    "7B": {"hidden_size": 4096, "intermediate_size": 11008, "layers": 32, "heads": 32},
    "13B": {"hidden_size": 5120, "intermediate_size": 13824, "layers": 40, "heads": 40},
    "tiny": {"hidden_size": 64, "intermediate_size": 128, "layers": 2, "heads": 2},
}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
NO_STOP = (-1,)  # stop ids no token has: always decode the full length
DRAFT_TOKENS = 8  # draftTokens for the drafting rows (the setting's default)


def make_checkpoint(shape: str, directory: Path, device: str) -> None:
    """A random-weight fp16 Llama with Code Llama's shape and the bundled tokenizer."""
    from transformers import LlamaConfig, LlamaForCausalLM

    s = SHAPES[shape]
    config = LlamaConfig(
        vocab_size=32016,
        hidden_size=s["hidden_size"],
        intermediate_size=s["intermediate_size"],
        num_hidden_layers=s["layers"],
        num_attention_heads=s["heads"],
        num_key_value_heads=s["heads"],
        max_position_embeddings=16384,
        rope_parameters={"rope_type": "default", "rope_theta": 1e6},
        tie_word_embeddings=False,
        bos_token_id=1,
        eos_token_id=2,
    )
    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float16)
    try:
        with torch.device(device):
            model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    model.save_pretrained(directory, max_shard_size="4GB")  # safetensors
    del model
    for name in TOKENIZER_FILES:
        shutil.copy(BUNDLED_MODEL / name, directory / name)


def host_text() -> tuple[str, int]:
    """A big real Python file (several stdlib modules) and a top-level gap in its middle."""
    import argparse as a
    import difflib
    import textwrap

    lines = "".join(inspect.getsource(m) for m in (a, difflib, textwrap)).splitlines(True)
    at = next(i for i in range(len(lines) // 2, len(lines)) if lines[i].startswith("def "))
    return "".join(lines), sum(len(x) for x in lines[:at])


def typed_text() -> str:
    import shlex

    return inspect.getsource(shlex.quote)


def replay(
    engine: TransformersEngine, keys: int, new_tokens: int, context: int, draft: int = 0
) -> tuple[list[float], float, list[list[int]], list[Any]]:
    """Per-key latency (s) typing into the host text; the cold first request; the prompts;
    the counted results.

    The first two keys are not counted: the first prefills the whole prompt
    (reported as the cold latency), the second records the CUDA graphs.
    """
    builder = PromptBuilder(engine.tokenizer)
    text, at = host_text()
    typed = typed_text()
    key = f"doc-{new_tokens}-{draft}"
    times, prompts, results, cold = [], [], [], 0.0
    for i in range(keys + 2):
        doc = text[:at] + typed[:i] + "\n\n" + text[at:]
        prompt = builder.build(doc[: at + i], doc[at + i :], context - new_tokens, "spm", 0.75, 16)
        request = GenerationRequest(
            Prompt(ids=prompt.ids, stop_ids=NO_STOP),
            max_new_tokens=new_tokens,
            cache_key=key,
            draft_tokens=draft,
        )
        started = time.perf_counter()
        result = engine.generate(request, CancelToken())
        elapsed = time.perf_counter() - started
        if i == 0:
            cold = elapsed  # a new document: the whole prompt is prefilled
        elif i > 1:
            times.append(elapsed)
            prompts.append(prompt.ids)
            results.append(result)
    return times, cold, prompts, results


def decode_ms_per_token(engine: TransformersEngine, ids: list[int], repeats: int = 3) -> float:
    """Slope of latency between 16 and 64 new tokens on a fully reused prompt."""
    slopes = []
    for _ in range(repeats):
        t = {}
        for n in (16, 64):
            request = GenerationRequest(
                Prompt(ids=ids, stop_ids=NO_STOP), max_new_tokens=n, cache_key="slope"
            )
            engine.generate(request, CancelToken())  # same prompt again: all reused
            started = time.perf_counter()
            engine.generate(request, CancelToken())
            t[n] = time.perf_counter() - started
        slopes.append((t[64] - t[16]) / 48 * 1000)
    return statistics.median(slopes)


def plain_generate(model: Any, prompts: list[list[int]], new_tokens: int) -> list[float]:
    """The Code Llama release's recipe: `generate`, eager, greedy, fresh cache each time."""
    device = next(model.parameters()).device
    times = []
    for ids in prompts:
        tensor = torch.tensor([ids], device=device)
        started = time.perf_counter()
        with torch.inference_mode():
            model.generate(
                tensor,
                attention_mask=torch.ones_like(tensor),
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                do_sample=False,
                pad_token_id=2,
            )
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    return times


def bandwidth(device: str, nbytes: int) -> float:
    """Bytes/s of a device-to-device copy (read + write counted)."""
    a = torch.empty(nbytes, dtype=torch.uint8, device=device)
    b = torch.empty_like(a)
    b.copy_(a)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    sync()
    started = time.perf_counter()
    for _ in range(10):
        b.copy_(a)
    sync()
    return 2 * nbytes * 10 / (time.perf_counter() - started)


def weight_bytes(model: Any) -> int:
    return sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers()))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def run_config(
    name: str, checkpoint: Path, quantization: str, args: argparse.Namespace, bw: float
) -> tuple[str, list[str]]:
    started = time.perf_counter()
    loaded = load_model(str(checkpoint), args.device, quantization)
    load_s = time.perf_counter() - started
    engine = TransformersEngine(
        loaded,
        compile="off" if args.no_compile else "on",
        context_window=args.context,
        compile_backend="eager" if args.dry else "",
    )
    compile_s = 0.0
    if engine.start_compile():
        assert engine.compiling is not None
        engine.compiling.finished.wait()
        compile_s = engine.compiling.seconds
    single, cold, prompts, plain_results = replay(engine, args.keys, 16, args.context)
    paths = [engine.last_path]
    drafting, _, _, drafted = replay(engine, args.keys, 16, args.context, DRAFT_TOKENS)
    answers = {tuple(ids): r.token_ids for ids, r in zip(prompts, plain_results, strict=True)}
    oracle_drafter = lambda request, ids: _AnswerDrafter(answers.get(tuple(ids), []))  # noqa: E731
    with mock.patch.object(engine, "_drafter", oracle_drafter):  # this replay only
        oracle, _, _, oracle_results = replay(engine, args.keys, 16, args.context, DRAFT_TOKENS)
    multi, _, multi_prompts, _ = replay(engine, max(args.keys // 3, 2), 64, args.context)
    paths.append(engine.last_path)
    # A prompt with room for 64 new tokens in the context: the static path serves it.
    decode = decode_ms_per_token(engine, multi_prompts[-1], args.repeats)
    paths.append(engine.last_path)
    path = paths[0] if len(set(paths)) == 1 else "/".join(paths)  # single/multi/slope
    sample = prompts[:: max(len(prompts) // args.plain, 1)][: args.plain]
    plain16 = plain_generate(loaded.model, sample, 16)
    plain64 = plain_generate(loaded.model, sample, 64)
    weights = weight_bytes(loaded.model)
    kv = static_cache_bytes(loaded.model.config, engine.max_len, loaded.model.dtype)
    floor = weights / bw * 1000
    floor_kv = (weights + kv) / bw * 1000
    ms = lambda v, q: pct(v, q) * 1000  # noqa: E731
    row = (
        f"| {name} | {loaded.dtype} | {path} | {load_s:.0f} | {compile_s:.0f} "
        f"| {ms(single, 0.5):.0f} | {ms(single, 0.95):.0f} | {ms(multi, 0.5):.0f} "
        f"| {ms(multi, 0.95):.0f} | {cold * 1000:.0f} | {decode:.2f} | {floor:.2f} "
        f"| {decode / floor:.2f}x ({decode / floor_kv:.2f}x) "
        f"| {ms(plain16, 0.5):.0f} | {ms(plain64, 0.5):.0f} "
        f"| {pct(plain16, 0.5) / pct(single, 0.5):.1f}x "
        f"| {pct(plain64, 0.5) / pct(multi, 0.5):.1f}x |"
    )
    draft_rows = [
        _draft_row(name, label, times, results)
        for label, times, results in (
            ("off", single, plain_results),
            ("on", drafting, drafted),
            ("on, drafts = the answer", oracle, oracle_results),
        )
    ]
    engine.close()
    del engine, loaded
    _free()
    return row, draft_rows


class _AnswerDrafter:
    """Drafts the known answer (up to DRAFT_TOKENS): verification's cost when drafts are right."""

    def __init__(self, answer: list[int]) -> None:
        self.answer = answer

    def propose(self, out: list[int], room: int, healing: object = None) -> list[int]:
        left = len(self.answer) - len(out) - 1  # the last token comes from the verification
        return self.answer[len(out) : len(out) + max(min(DRAFT_TOKENS, room, left), 0)]

    def update(self, drafted: int, accepted: int) -> None:
        pass


def _draft_row(name: str, label: str, times: list[float], results: list[Any]) -> str:
    steps = sum(r.steps - 1 for r in results)  # decode forwards after the prefill
    accepted = sum(r.accepted for r in results)
    drafted = sum(r.drafted for r in results)
    return (
        f"| {name}, drafting {label} | {pct(times, 0.5) * 1000:.0f} "
        f"| {pct(times, 0.95) * 1000:.0f} "
        f"| {steps / max(len(results), 1):.1f} | {accepted / max(steps, 1):.2f} "
        f"| {accepted / max(drafted, 1):.0%} |"
    )


def _free() -> None:
    gc.collect()
    torch._dynamo.reset()  # compiled graphs hold the old model
    if torch.cuda.is_available():
        from torch._inductor import cudagraph_trees

        cudagraph_trees.reset_cudagraph_trees()
        torch.cuda.empty_cache()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry", action="store_true", help="CPU, tiny shapes, compile traced only")
    parser.add_argument("--keys", type=int, default=30, help="keystrokes per single-line replay")
    parser.add_argument("--plain", type=int, default=4, help="prompts for the plain recipe")
    parser.add_argument("--context", type=int, default=4096)
    parser.add_argument("--no-compile", action="store_true", help="eager decoding only")
    parser.add_argument(
        "--budget-s", type=float, default=330, help="start no config after this many seconds"
    )
    parser.add_argument("--configs", nargs="+", default=["7B", "13B", "7B-4bit"])
    args = parser.parse_args(argv)
    if args.dry:
        args.device, args.keys, args.plain = "cpu", min(args.keys, 4), min(args.plain, 2)
        args.context, args.repeats = min(args.context, 1024), 1
        args.configs = ["tiny", "tiny-4bit"]
    else:
        if not torch.cuda.is_available():
            parser.error("no CUDA GPU: run with --dry to check the script on CPU")
        args.device, args.repeats = "cuda", 3
        torch.backends.cuda.matmul.allow_tf32 = True
    started = time.perf_counter()
    bw = bandwidth(args.device, 2**26 if args.dry else 2**32)
    gpu = torch.cuda.get_device_name() if args.device == "cuda" else "CPU (dry run)"
    import transformers

    print(f"{gpu}; torch {torch.__version__}; transformers {transformers.__version__}")
    print(f"bandwidth (device-to-device copy): {bw / 1e12:.2f} TB/s; context {args.context} tokens")
    print(
        "| model | dtype | decode path | load s | compile s | 16-token p50 ms | p95 ms "
        "| 64-token p50 ms | p95 ms | cold first key ms | decode ms/token | floor ms/token "
        "| × floor (with KV) | plain 16 p50 ms | plain 64 p50 ms | speed-up 16 | speed-up 64 |"
    )
    print("|" + "---|" * 17, flush=True)
    draft_rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="codellama-gpu-bench-") as tmp:
        made: dict[str, Path] = {}
        for config in args.configs:
            shape, _, quant = config.partition("-")
            if time.perf_counter() - started > args.budget_s:
                print(f"| {config} | skipped: past the {args.budget_s:.0f} s budget |", flush=True)
                continue
            if shape not in made:
                if shutil.disk_usage(tmp).free < 1.1 * _checkpoint_bytes(shape) + 4e9:
                    for old in list(made):  # not room for two: one at a time
                        shutil.rmtree(made.pop(old))
                made[shape] = Path(tmp) / shape
                made[shape].mkdir()
                make_checkpoint(shape, made[shape], args.device)
                _free()
            quantization = quant or "none"
            if quantization == "4bit" and not _has_bitsandbytes():
                print(f"| {config} | skipped: bitsandbytes is not installed |", flush=True)
                continue
            try:
                row, drafting = run_config(config, made[shape], quantization, args, bw)
                print(row, flush=True)
                draft_rows += drafting
            except Exception as exc:  # one failing config must not hide the others
                print(f"| {config} | failed: {type(exc).__name__}: {exc} |", flush=True)
                _free()
    print("\nSingle-line replay (16 tokens) with prompt-lookup drafting off and on:")
    print("| model | p50 ms | p95 ms | decode steps/answer | accepted/step | accepted/drafted |")
    print("|" + "---|" * 6)
    print("\n".join(draft_rows), flush=True)
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


def _checkpoint_bytes(shape: str) -> int:
    s = SHAPES[shape]
    h, m, n = s["hidden_size"], s["intermediate_size"], s["layers"]
    return 2 * (2 * 32016 * h + n * (4 * h * h + 3 * h * m))  # fp16


def _has_bitsandbytes() -> bool:
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    raise SystemExit(main())
