"""The `codellama-lsp` command: serve, complete, prompt."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from lsp_server import __version__
from lsp_server.settings import Settings, SettingsError


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    if args.command in (None, "serve"):
        return _serve(getattr(args, "tcp", None))
    try:
        settings = _settings(args)
    except SettingsError as exc:
        print(f"codellama-lsp: {exc}", file=sys.stderr)
        return 2
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        print(f"codellama-lsp: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    from lsp_server.completion.context import PositionError, context_at

    try:
        # Editors show 1-based lines and columns counted in characters.
        ctx = context_at(text, args.line - 1, args.column - 1, "utf-32", _language(args.file))
    except PositionError as exc:
        print(f"codellama-lsp: {args.file}:{args.line}:{args.column}: {exc}", file=sys.stderr)
        return 2
    if args.command == "prompt":
        return _print_prompt(ctx, settings, args)
    return _print_completion(ctx, settings, args)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="codellama-lsp", description="Code Llama completions for your editor, over LSP."
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    p.add_argument("--version", action="version", version=f"codellama-lsp {__version__}")
    sub = p.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the language server on stdio (the default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead (debugging)")
    for name, helptext in (
        ("complete", "print the completion the server would show at a position"),
        ("prompt", "print the exact prompt the server would send at a position"),
    ):
        cmd = sub.add_parser(name, help=helptext)
        cmd.add_argument("file")
        cmd.add_argument("--line", type=int, required=True, help="1-based line")
        cmd.add_argument("--column", type=int, required=True, help="1-based column (characters)")
        cmd.add_argument("--model", help="model setting (bundled, hub id or directory)")
        cmd.add_argument("--device", choices=("auto", "cuda", "cpu"))
        cmd.add_argument("--settings", help="JSON object of codellamaLsp settings")
        if name == "complete":
            cmd.add_argument("--json", action="store_true", help="print JSON with timings")
        else:
            cmd.add_argument("--ids", action="store_true", help="print the ids as a JSON list")
    return p


def _settings(args: argparse.Namespace) -> Settings:
    changes = json.loads(args.settings) if args.settings else {}
    if args.model:
        changes["model"] = args.model
    if args.device:
        changes["device"] = args.device
    return Settings().merged(changes)


def _language(path: str) -> str:
    from lsp_server.syntax.languages import language_id_for_path

    return language_id_for_path(path)


def _load(settings: Settings):
    from lsp_server.completion.service import CompletionService
    from lsp_server.engines.factory import create_engine
    from lsp_server.engines.transformers.loader import ModelLoadError
    from lsp_server.prompts.codellama_ids import PromptBuilder

    try:
        engine, tokenizer = create_engine(settings, log=lambda m: print(m, file=sys.stderr))
    except ModelLoadError as exc:
        print(f"codellama-lsp: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    loaded = getattr(engine, "loaded", None)
    return CompletionService(
        engine, PromptBuilder(tokenizer), loaded.max_positions if loaded else 0
    )


def _print_prompt(ctx, settings: Settings, args) -> int:
    from lsp_server.completion.service import CompletionService
    from lsp_server.engines.transformers.loader import ModelLoadError, load_tokenizer, resolve_model
    from lsp_server.prompts.codellama_ids import PromptBuilder

    try:
        tok, max_positions = load_tokenizer(resolve_model(settings.model, settings.device)[0])
    except ModelLoadError as exc:
        print(f"codellama-lsp: {exc}", file=sys.stderr)
        return 1
    # Same budget as the server; no engine is needed to build a prompt.
    prompt = CompletionService(None, PromptBuilder(tok), max_positions).prompt(ctx, settings)  # type: ignore[arg-type]
    print(json.dumps(prompt.ids) if args.ids else tok.decode(prompt.ids))
    return 0


def _print_completion(ctx, settings: Settings, args) -> int:
    import time

    import torch

    torch.set_num_threads(min(torch.get_num_threads(), 4))
    service = _load(settings)
    started = time.perf_counter()
    suggestion = service.complete(ctx, settings)
    elapsed = time.perf_counter() - started
    if args.json:
        result = suggestion.result
        print(
            json.dumps(
                {
                    "completion": suggestion.text,
                    "raw": suggestion.raw,
                    "stop_reason": result.stop_reason if result else None,
                    "model_seconds": round(result.model_seconds, 4) if result else 0,
                    "seconds": round(elapsed, 4),
                },
                indent=2,
            )
        )
    else:
        print(suggestion.text)
    return 0


def _serve(tcp: str | None) -> int:
    from lsp_server.server.app import create_server

    server = create_server()
    if tcp:
        host, _, port = tcp.rpartition(":")
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
