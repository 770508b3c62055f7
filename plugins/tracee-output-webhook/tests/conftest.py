"""Fixtures: real HTTP receivers on 127.0.0.1, stopped after each test."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from webhook_testkit import Receiver


@pytest.fixture
def receiver_factory() -> Callable[..., Receiver]:
    started: list[Receiver] = []

    def start(*args: Any, **kwargs: Any) -> Receiver:
        r = Receiver(*args, **kwargs)
        started.append(r)
        return r

    yield start
    for r in started:
        r.stop()


@pytest.fixture
def receiver(receiver_factory) -> Receiver:
    return receiver_factory()
