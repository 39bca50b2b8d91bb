"""Use cases run on a FakeEngine: every docker command recorded, answers from fixtures."""

from __future__ import annotations

import pytest

from dockyard.engine.fake import FakeEngine


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    """A FakeEngine (and readiness that answers at once)."""
    fake = FakeEngine()
    monkeypatch.setattr("dockyard.engine.ready.HttpReady.wait", lambda self, *a: 0.5)
    return fake
