"""The `codellama-lsp` command: serve, complete, prompt.

Bad input gets one line on stderr saying what is wrong and what to do, with the
user's own (1-based) numbers, and exit status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

from lsp_server import __version__
from lsp_server.settings import SETTINGS, Settings, SettingsError, unknown_keys, unwrap_section

PROG = "codellama-lsp"
_LINE_BREAK = re.compile(r"\r\n?|\n")  # LSP's line breaks, as the server counts lines


class UsageError(Exception):
    """Bad input: the message is the one line the user sees (exit 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but its errors are one line too (not usage + error)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    try:
        if args.command is None:
            if sys.stdin.isatty():  # a person, not an editor: say how to use it
                _parser().print_help(sys.stderr)
                print(f"\n{PROG}: editors start `{PROG} serve` themselves.", file=sys.stderr)
                return 2
            return _serve(None)
        if args.command == "serve":
            return _serve(_tcp_address(args.tcp) if args.tcp else None)
        return _run_at_position(args)
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Code Llama completions for your editor, over LSP.")
    p.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = p.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the language server on stdio (the default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead (debugging)")
    # Many clients (vscode-languageclient) append --stdio; stdio is the default anyway.
    serve.add_argument("--stdio", action="store_true", help="ignored; stdio is the default")
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
        cmd.add_argument(
            "--workspace",
            metavar="DIR",
            help="workspace folder for context from other files (default: the nearest "
            "folder above the file with .git or pyproject.toml)",
        )
        if name == "complete":
            cmd.add_argument("--json", action="store_true", help="print JSON with timings")
        else:
            cmd.add_argument("--ids", action="store_true", help="print the ids as a JSON list")
    return p


def _run_at_position(args: argparse.Namespace) -> int:
    settings = _settings(args)
    text = _read_source(args.file)
    _check_position(text, args.file, args.line, args.column)
    from lsp_server.completion.context import context_at
    from lsp_server.engines.transformers.loader import ModelLoadError

    # Editors show 1-based lines and columns counted in characters.
    ctx = context_at(text, args.line - 1, args.column - 1, "utf-32", _language(args.file))
    ctx = _with_workspace(ctx, text, settings, args)
    try:
        if args.command == "prompt":
            return _print_prompt(ctx, settings, args)
        return _print_completion(ctx, settings, args)
    except ModelLoadError as exc:
        raise UsageError(" ".join(str(exc).split())) from None


def _settings(args: argparse.Namespace) -> Settings:
    changes: Any = {}
    if args.settings:
        try:
            changes = json.loads(args.settings)
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"--settings is not valid JSON ({exc.msg} at character {exc.pos + 1}); "
                """pass a JSON object, e.g. --settings '{"maxNewTokens": 32}'"""
            ) from None
        if not isinstance(changes, dict):
            raise UsageError(
                f"--settings must be a JSON object, not {type(changes).__name__}; "
                """e.g. --settings '{"maxNewTokens": 32}'"""
            )
        unknown = unknown_keys(changes)
        if unknown:
            raise UsageError(f"--settings: {'; '.join(_unknown(key) for key in unknown)}")
    changes = dict(unwrap_section(changes))
    if args.model:
        changes["model"] = args.model
    if args.device:
        changes["device"] = args.device
    try:
        settings = Settings().merged(changes)
    except SettingsError as exc:
        raise UsageError(f"invalid settings: {'; '.join(exc.errors)}") from None
    if settings.device == "cuda":
        from lsp_server.engines.transformers.loader import cuda_available, gpu_driver_present

        if not (gpu_driver_present() and cuda_available()):
            raise UsageError(
                "device 'cuda' was asked for but PyTorch sees no CUDA GPU; use --device cpu "
                "(or auto), or install a CUDA build of torch"
            )
    return settings


def _unknown(key: str) -> str:
    close = difflib.get_close_matches(key, SETTINGS, n=1)
    hint = f"did you mean '{close[0]}'?" if close else "see the settings table in the README"
    return f"unknown setting '{key}' ({hint})"


def _read_source(file: str) -> str:
    try:
        return Path(file).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"cannot read {file}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
            f"offset {exc.start}); give a UTF-8 source file"
        ) from None
    except OSError as exc:
        raise UsageError(
            f"cannot read {file}: {exc.strerror or exc}; give the path of a source file"
        ) from None


def _check_position(text: str, file: str, line: int, column: int) -> None:
    """Check the 1-based position against the file, in the user's own numbers."""
    lines = _LINE_BREAK.split(text)
    if line < 1:
        raise UsageError(f"{file}: --line {line} is not a line; lines are numbered from 1")
    if line > len(lines):
        raise UsageError(
            f"{file}: --line {line} is past the end of the file ({len(lines)} lines); "
            f"use 1 to {len(lines)}"
        )
    if column < 1:
        raise UsageError(f"{file}: --column {column} is not a column; columns are numbered from 1")
    width = len(lines[line - 1])
    if column > width + 1:
        raise UsageError(
            f"{file}:{line}: --column {column} is past the end of line {line} "
            f"({width} characters); use 1 to {width + 1}"
        )


def _tcp_address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(
            f"--tcp {value}: expected HOST:PORT with a port from 1 to 65535, "
            "e.g. --tcp 127.0.0.1:2087"
        )
    return host.strip("[]") or "127.0.0.1", int(port)


def _language(path: str) -> str:
    from lsp_server.syntax.languages import language_id_for_path

    return language_id_for_path(path)


def _with_workspace(ctx, text: str, settings: Settings, args: argparse.Namespace):
    """`ctx` with snippets from the workspace's other files, as the server would add."""
    from lsp_server.server.workspace_context import snippet_chars
    from lsp_server.workspace.extract import SUFFIX_LANGUAGES
    from lsp_server.workspace.index import WorkspaceIndex
    from lsp_server.workspace.selection import ContextSelector

    path = Path(args.file).resolve()
    folder = Path(args.workspace).resolve() if args.workspace else _nearest_project(path)
    if folder is None or snippet_chars(settings) <= 0:
        return ctx
    index = WorkspaceIndex([folder])
    index.build()
    language = SUFFIX_LANGUAGES.get(path.suffix, "")
    blocks = ContextSelector(index).select(
        path.as_uri(), str(path), text, len(ctx.prefix), language, snippet_chars(settings)
    )
    return dataclasses.replace(ctx, context=blocks)


def _nearest_project(path: Path) -> Path | None:
    for folder in path.parents:
        if (folder / ".git").exists() or (folder / "pyproject.toml").is_file():
            return folder
    return None


def _load(settings: Settings):
    from lsp_server.completion.prompter import make_prompter
    from lsp_server.completion.service import CompletionService
    from lsp_server.engines.factory import create_engine
    from lsp_server.prompts.codellama_ids import PromptBuilder

    engine, tokenizer = create_engine(settings, log=lambda m: print(m, file=sys.stderr))
    return CompletionService(engine, make_prompter(engine, PromptBuilder(tokenizer)))


def _prompter(settings: Settings):
    """The prompter the server would use; in process it needs only the tokenizer."""
    from lsp_server.completion.prompter import IdsPrompter
    from lsp_server.engines.transformers.loader import (
        gpu_driver_present,
        load_tokenizer,
        resolve_model,
    )
    from lsp_server.prompts.codellama_ids import PromptBuilder

    if settings.engine != "transformers":  # a remote server: ask it (no weights here)
        return _load(settings).prompter
    # No GPU driver: no CUDA, known without importing torch (seconds) for `model: auto`.
    cuda = None if gpu_driver_present() else False
    tok, max_positions = load_tokenizer(resolve_model(settings.model, settings.device, cuda)[0])
    return IdsPrompter(PromptBuilder(tok), max_positions)


def _print_prompt(ctx, settings: Settings, args) -> int:
    from lsp_server.generation import EngineError
    from lsp_server.prompts.families import FamilyError

    try:  # a model that cannot load is a usage error (`_run_at_position`)
        prompter = _prompter(settings)
        prompt = prompter.completion(ctx, settings)  # same budget as the server
    except (EngineError, FamilyError) as exc:
        print(f"codellama-lsp: {exc}", file=sys.stderr)
        return 1
    if args.ids:
        if prompt.ids is None:
            message = f"the {settings.engine} engine takes text, not ids"
            print(f"codellama-lsp: {message}", file=sys.stderr)
            return 2
        print(json.dumps(prompt.ids))
    else:
        print(prompter.render(prompt))
    return 0


def _print_completion(ctx, settings: Settings, args) -> int:
    import time

    import torch  # noqa: F401  (apply_threads sets torch's count for this thread)

    from lsp_server.generation import EngineError
    from lsp_server.prompts.families import FamilyError
    from lsp_server.server.threads import apply_threads

    apply_threads(settings.threads)  # as the server does: the `threads` setting
    service = _load(settings)
    started = time.perf_counter()
    try:
        suggestion = service.complete(ctx, settings)
    except (EngineError, FamilyError) as exc:
        print(f"codellama-lsp: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    if args.json:
        result = suggestion.result
        print(
            json.dumps(
                {
                    "completion": suggestion.text,
                    "raw": suggestion.raw,
                    "stop_reason": str(result.stop_reason) if result else None,
                    "filtered_by": suggestion.filtered_by,
                    "model_seconds": round(result.model_seconds, 4) if result else 0,
                    "seconds": round(elapsed, 4),
                },
                indent=2,
            )
        )
    else:
        print(suggestion.text)
    return 0


def _serve(tcp: tuple[str, int] | None) -> int:
    """Serve until the client sends `exit` (or goes away), then leave at once.

    The exit status is LSP's: 0 after `shutdown`, else 1. The process ends with
    `os._exit` once output is flushed: interpreter teardown after a model was
    loaded (torch, the worker thread) takes seconds, and an editor waits for it.
    """
    from lsp_server.server.app import create_server

    server = create_server()
    if tcp is None:
        if sys.stdin.isatty():
            print(f"{PROG}: serving LSP on stdin/stdout (Ctrl-D ends it)", file=sys.stderr)
        server.start_io()
    else:
        _serve_tcp(server, *tcp)
    code = 0 if getattr(server.protocol, "_shutdown", False) else 1
    _leave(code)
    return code  # not reached


def _serve_tcp(server, host: str, port: int) -> None:
    from lsprotocol import types

    def exit_tcp(*_args: Any) -> None:
        # pygls' own `exit` calls sys.exit inside the connection task, which asyncio
        # reports as a 33-line traceback; stopping the TCP server ends the same way.
        server.protocol.writer.close()
        server.shutdown()

    server.protocol.fm.add_builtin_feature(types.EXIT, exit_tcp)
    print(f"{PROG}: serving LSP on {host}:{port} (one client)", file=sys.stderr)
    try:
        server.start_tcp(host, port)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --tcp address"
        ) from None


def _leave(code: int) -> NoReturn:
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    raise SystemExit(main())
