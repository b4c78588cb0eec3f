"""A loopback stand-in for TGI (and OpenAI-compatible servers) that tests can script.

Implements `/info`, `/generate`, `/generate_stream`, `/v1/models` and
`/v1/completions` as TGI's OpenAPI description (`data/specs/tgi-openapi.json`)
describes them, validates every request body the client sends against that
description (and its own answers, so the fake stays faithful), and records
what it saw: requests, headers, tokens sent, and a client that went away.

Bounded: it listens on 127.0.0.1 only, each scripted delay is short, and the
server shuts itself down after `lifetime` seconds if a test forgets to.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema

from benchmarks.fake_replies import Reply, Tok, openai_events, tgi_events

__all__ = ["HOSTILE", "FakeServer", "Reply", "Tok", "load_spec"]

# In the repository (source and license: data/specs/README.md).
SPEC = Path(__file__).resolve().parents[1] / "data" / "specs" / "tgi-openapi.json"

REQUEST_SCHEMAS = {
    "/generate": "GenerateRequest",
    "/generate_stream": "GenerateRequest",
    "/v1/completions": "CompletionRequest",
}


def load_spec() -> dict:
    return json.loads(SPEC.read_text(encoding="utf-8"))


# Misbehaving answers (each stops when the client hangs up, or after HOSTILE_SECONDS):
HOSTILE = (
    "drip",  # a valid event, one byte every 0.2 s, never finished
    "keepalive",  # SSE comments forever
    "empty",  # events without text or id, forever
    "infinite",  # tokens forever, ignoring max_new_tokens, never a last event
    "huge",  # a single 100 MB line
    "huge_events",  # 100 MB of 64 KB tokens
    "blackhole",  # reads the request, never answers
    "bad_utf8",  # an event that is not UTF-8
    "wrong_types",  # token fields of the wrong types
    "token_list",  # `token` is a list
)
HOSTILE_SECONDS = 30.0

DEFAULT_TOKENS = [Tok(" return", 736), Tok(" x", 921), Tok("\n", 13)]


class FakeServer:
    """Scriptable TGI-like server on 127.0.0.1; use as a context manager."""

    def __init__(
        self,
        model_id: str = "codellama/CodeLlama-13b-hf",
        token: str = "",
        max_input_tokens: int = 1024,
        max_total_tokens: int = 2048,
        max_stop_sequences: int = 4,
        lifetime: float = 60.0,
        vllm_models: int | None = None,
        other_models: tuple[str, ...] = (),
        check_answers: bool = True,
    ) -> None:
        self.spec = load_spec()
        self.check_answers = check_answers  # benchmarks skip validating the fake's own events
        self.model_id = model_id
        self.token = token
        # Answer /v1/models as vLLM does (a list, with this max_model_len).
        self.vllm_models = vllm_models
        # Listed before ours, as Ollama lists every model it has pulled.
        self.other_models = other_models
        self.info = {
            "model_id": model_id,
            "max_concurrent_requests": 128,
            "max_best_of": 2,
            "max_stop_sequences": max_stop_sequences,
            "max_input_tokens": max_input_tokens,
            "max_total_tokens": max_total_tokens,
            "validation_workers": 2,
            "max_client_batch_size": 4,
            "router": "text-generation-router",
            "version": "3.3.6-dev0",
        }
        self.requests: list[dict] = []
        self.errors: list[str] = []  # schema violations, by us or by the client
        self.disconnected = threading.Event()
        self.tokens_sent = 0
        self._sent_cv = threading.Condition()
        self._plans: dict[str, deque[Reply]] = {}
        self._lifetime = lifetime
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False  # a stalled handler must not hold up a test
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        assert isinstance(host, str), host  # an IPv4 socket's address, never bytes
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeServer:
        self._thread.start()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._timer.cancel()
        self._httpd.shutdown()
        self._httpd.server_close()

    def plan(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to `path` with `replies`, in order."""
        self._plans.setdefault(path, deque()).extend(replies)

    def wait_sent(self, count: int, timeout: float = 5.0) -> bool:
        """Block until `count` tokens have been streamed (or `timeout`)."""
        with self._sent_cv:
            return self._sent_cv.wait_for(lambda: self.tokens_sent >= count, timeout)

    # -- used by the handler --------------------------------------------------

    def next_reply(self, path: str) -> Reply:
        queue = self._plans.get(path)
        return queue.popleft() if queue else Reply(tokens=list(DEFAULT_TOKENS))

    def check(self, what: str, schema_name: str, instance: object) -> None:
        if what.startswith("response") and not self.check_answers:
            return
        root = {"components": self.spec["components"]}
        schema = {**root, "$ref": f"#/components/schemas/{schema_name}"}
        for err in jsonschema.Draft202012Validator(schema).iter_errors(instance):
            self.errors.append(f"{what}: {err.message} at {list(err.absolute_path)}")

    def count_sent(self) -> None:
        with self._sent_cv:
            self.tokens_sent += 1
            self._sent_cv.notify_all()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # as real servers stream: one event, one packet

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    @property
    def fake(self) -> FakeServer:
        return self.server.fake  # type: ignore[attr-defined]

    # -- routing --------------------------------------------------------------

    def do_GET(self) -> None:
        if not self._authorized():
            return
        self.fake.requests.append({"method": "GET", "path": self.path, "headers": self._hdrs()})
        if self.path == "/info":
            self.fake.check("response /info", "Info", self.fake.info)
            self._json(200, self.fake.info)
        elif self.path == "/v1/models":
            model = {"id": self.fake.model_id, "object": "model", "created": 0, "owned_by": "tgi"}
            self.fake.check("response /v1/models", "ModelInfo", model)
            if self.fake.vllm_models or self.fake.other_models:
                if self.fake.vllm_models:
                    model["max_model_len"] = self.fake.vllm_models
                others = [{**model, "id": name} for name in self.fake.other_models]
                self._json(200, {"object": "list", "data": [*others, model]})
            else:
                self._json(200, model)
        else:
            self._json(404, {"error": "Not Found", "error_type": "not_found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if not self._authorized():
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self.fake.errors.append(f"request {self.path}: body is not JSON")
            self._json(422, {"error": "Failed to parse the request body", "error_type": "x"})
            return
        self.fake.requests.append(
            {"method": "POST", "path": self.path, "headers": self._hdrs(), "body": body}
        )
        schema = REQUEST_SCHEMAS.get(self.path)
        if schema is None:
            self._json(404, {"error": "Not Found", "error_type": "not_found"})
            return
        self.fake.check(f"request {self.path}", schema, body)
        reply = self.fake.next_reply(self.path)
        if reply.hostile:
            self._hostile(reply.hostile)
            return
        if reply.stall:
            time.sleep(reply.stall)
        if reply.body is not None:
            self._raw(reply.status, reply.body, "application/json")
            return
        if reply.status != 200:
            headers = {"Retry-After": reply.retry_after} if reply.retry_after else {}
            err = {"error": reply.error or "error", "error_type": reply.error_type}
            self.fake.check("response error", "ErrorResponse", err)
            self._json(reply.status, err, headers)
        elif self.path == "/generate":
            text = "".join(t.text for t in reply.tokens if not t.special)
            self.fake.check("response /generate", "GenerateResponse", {"generated_text": text})
            self._json(200, {"generated_text": text})
        elif self.path == "/generate_stream":
            self._stream(reply, tgi_events(reply, body, self.fake.check))
        else:
            self._stream(reply, openai_events(reply, self.fake.model_id, self.fake.check))

    # -- answers --------------------------------------------------------------

    def _stream(self, reply: Reply, events) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for n, data in enumerate(events):
                if reply.drop_after is not None and n >= reply.drop_after:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if n and reply.delay:
                    time.sleep(reply.delay)
                self._chunk(f"data: {data}\n\n".encode())
                if data != "[DONE]":
                    self.fake.count_sent()
            self._chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            self.fake.disconnected.set()
            self.close_connection = True

    def _hostile(self, mode: str) -> None:
        """Misbehave as `mode` says until the client hangs up (bounded in time)."""
        self.close_connection = True
        end = time.monotonic() + HOSTILE_SECONDS
        if mode == "blackhole":
            while time.monotonic() < end and not self._client_gone():
                time.sleep(0.05)
            self.fake.disconnected.set()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        token = {"id": 5, "text": " x", "logprob": -0.1, "special": False}
        one = f"data: {json.dumps({'index': 0, 'token': token})}\n\n".encode()
        blob = b"a" * 65536
        fixed = {
            "bad_utf8": b'data: {"token": {"id": 5, "text": "\xff\xfe", "special": false}}\n\n',
            "wrong_types": b'data: {"token": {"id": "5", "text": 5, "special": "no"}}\n\n',
            "token_list": b'data: {"token": [1, 2]}\n\n',
        }
        sent = 0
        try:
            while time.monotonic() < end:
                if mode == "drip":
                    self._chunk(one[sent % len(one) : sent % len(one) + 1])
                    time.sleep(0.2)
                elif mode == "keepalive":
                    self._chunk(b": keep-alive\n\n")
                    time.sleep(0.05)
                elif mode == "empty":
                    self._chunk(b'data: {"index": 0, "token": {"text": ""}}\n\n')
                    time.sleep(0.01)
                elif mode == "infinite":
                    self._chunk(one)
                    self.fake.count_sent()
                elif mode == "huge":
                    self._chunk((b"data: " if not sent else b"") + blob)
                elif mode == "huge_events":
                    event = {"index": 0, "token": {**token, "text": "a" * 65536}}
                    self._chunk(f"data: {json.dumps(event)}\n\n".encode())
                else:
                    self._chunk(fixed[mode])
                    time.sleep(0.05)
                sent += 1
                if mode.startswith("huge") and sent * 65536 >= 100 * 2**20:
                    break
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.fake.disconnected.set()

    def _client_gone(self) -> bool:
        import select

        readable, _, _ = select.select([self.connection], [], [], 0)
        return bool(readable) and not self.connection.recv(1, socket.MSG_PEEK)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _json(self, status: int, body: object, headers: dict | None = None) -> None:
        self._raw(status, json.dumps(body).encode(), "application/json", headers)

    def _raw(self, status: int, data: bytes, ctype: str, headers: dict | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.fake.disconnected.set()
            self.close_connection = True

    def _authorized(self) -> bool:
        if not self.fake.token:
            return True
        if self.headers.get("Authorization") == f"Bearer {self.fake.token}":
            return True
        self._json(401, {"error": "Authorization token is invalid", "error_type": "auth"})
        return False

    def _hdrs(self) -> dict:
        return {k.lower(): v for k, v in self.headers.items()}
