"""Fixtures for the remote engine tests: a loopback fake TGI server."""

from __future__ import annotations

import pytest

from benchmarks.fake_server import FakeServer


@pytest.fixture
def fake():
    """A fresh fake TGI server; the test fails if any request broke the OpenAPI schema."""
    with FakeServer() as server:
        yield server
    assert server.errors == [], server.errors
