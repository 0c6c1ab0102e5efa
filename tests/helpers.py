"""Small helpers shared by API tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

DIM = 384  # the built-in model's dimension, which the test database is created with


def unit(*hot: int, dim: int = DIM) -> list[float]:
    """A hand-made vector with 1.0 at the given positions (so cosine ranks are predictable)."""
    v = [0.0] * dim
    for i in hot:
        v[i] = 1.0
    return v


def mix(weights: dict[int, float], dim: int = DIM) -> list[float]:
    """A vector with the given weights at the given positions."""
    v = [0.0] * dim
    for i, w in weights.items():
        v[i] = w
    return v


def make_user(client: TestClient, name: str = "u") -> int:
    r = client.post("/users", json={"name": name})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def vec_doc(text: str, vector: list[float], **extra: Any) -> dict[str, Any]:
    """A document with one client-embedded chunk."""
    return {"text": text, "chunks": [{"text": text, "embedding": vector}], **extra}
