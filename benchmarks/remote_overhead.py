"""What the language server adds on top of a remote engine's own latency.

Runs the TGI and OpenAI engines against the loopback fake server of the tests
(no model: the fake answers at once), so the figures are this client's cost
per suggestion: request building, HTTP on a kept-alive connection, SSE
parsing and stop handling. Prints median and p95 per engine.

    python -m benchmarks.remote_overhead [--requests 300] [--tokens 32]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from benchmarks.fake_server import FakeServer, Reply, Tok
from lsp_server.engines.factory import create_remote_engine
from lsp_server.generation import CancelToken, GenerationRequest, Prompt
from lsp_server.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def measure(kind: str, requests: int, tokens: int) -> list[float]:
    with FakeServer(check_answers=False) as server:
        settings = Settings().merged({"engine": kind, "endpoint": server.url})
        engine = create_remote_engine(settings)
        engine.describe()
        prompt = Prompt(text="<PRE> def f(x): <SUF>\n <MID>", stop_ids=(32010,))
        request = GenerationRequest(prompt=prompt, max_new_tokens=tokens)
        times = []
        for _ in range(requests):
            server.plan(
                "/generate_stream" if kind == "tgi" else "/v1/completions",
                Reply(tokens=[Tok(f" t{i}", 100 + i) for i in range(tokens)]),
            )
            start = time.perf_counter()
            engine.generate(request, CancelToken())
            times.append(time.perf_counter() - start)
        engine.close()
        return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--tokens", type=int, default=32)
    args = parser.parse_args()
    for kind in ("tgi", "openai"):
        times = sorted(measure(kind, args.requests, args.tokens))
        p50 = statistics.median(times) * 1000
        p95 = times[int(len(times) * 0.95) - 1] * 1000
        print(
            f"{kind:7s} {args.tokens} tokens/answer, {args.requests} requests: "
            f"median {p50:.2f} ms, p95 {p95:.2f} ms (client + loopback fake server)"
        )


if __name__ == "__main__":
    main()
