"""``stop_on_signals``: SIGINT and SIGTERM stop a foreground server; old handlers return."""

from __future__ import annotations

import signal
import threading

import pytest

from django_objectstore.server.hosting.signals import stop_on_signals


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_sets_the_event_and_the_previous_handler_returns(signum: int) -> None:
    before = signal.getsignal(signum)
    with stop_on_signals() as stop:
        assert not stop.is_set()
        signal.raise_signal(signum)
        assert stop.is_set()
    assert signal.getsignal(signum) is before


def test_the_previous_handlers_return_when_the_block_raises() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(RuntimeError, match="boom"), stop_on_signals():
        assert signal.getsignal(signal.SIGTERM) is not before
        raise RuntimeError("boom")
    assert signal.getsignal(signal.SIGTERM) is before


def test_outside_the_main_thread_no_handler_is_installed() -> None:
    before = signal.getsignal(signal.SIGTERM)
    seen: list[object] = []

    def run() -> None:
        with stop_on_signals() as stop:
            seen.append(signal.getsignal(signal.SIGTERM))
            stop.set()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    assert seen == [before]
