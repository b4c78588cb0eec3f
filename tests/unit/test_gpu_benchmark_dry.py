"""`benchmarks/gpu.py --dry`: the GPU script's whole path on CPU with tiny shapes.

Random-weight checkpoints saved with the bundled tokenizer, loaded through
`load_model`, the engine compiled (traced only) and replayed, the plain
recipe run: everything the GPU session will run, minus the GPU.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.lsp import SERVER_ENV


@pytest.mark.slow  # ~30 s: deselect with -m "not slow"
def test_gpu_benchmark_dry_run_prints_every_row():
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.gpu", "--dry"],
        env=SERVER_ENV,
        capture_output=True,
        text=True,
        timeout=300,  # a hang guard, not a speed test
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [line for line in out.stdout.splitlines() if line.startswith("| ")]
    rows = {line.split("|")[1].strip(): line for line in lines}
    assert "failed" not in out.stdout, out.stdout
    assert "compiled" in rows["tiny"]  # the static cache under a compiled forward served it
    assert "tiny-4bit" in rows  # measured, or skipped saying bitsandbytes is missing
    # Drafting off, on (random weights: few drafts), and on with the answer as the draft.
    off = rows["tiny, drafting off"].split("|")
    assert "tiny, drafting on" in rows
    right = rows["tiny, drafting on, drafts = the answer"].split("|")
    assert off[5].strip() == "0.00" and float(right[5]) > 1, (off, right)
    assert float(right[4]) < float(off[4])  # fewer decode steps per answer
