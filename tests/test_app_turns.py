"""Labels before figures: a session drawing its charts waits while another session's label is
pending, never longer than ``max_wait``; tickets close once, whatever happens."""

from __future__ import annotations

import threading
import time

from ser_core.app_support.turns import LabelsFirst


def test_no_pending_label_means_no_wait() -> None:
    turns = LabelsFirst(max_wait=5.0)
    started = time.perf_counter()
    assert turns.wait_turn() is True
    assert time.perf_counter() - started < 0.5


def test_figures_wait_until_every_pending_label_is_shown() -> None:
    turns = LabelsFirst(max_wait=10.0)
    first, second = turns.ticket(), turns.ticket()
    assert turns.pending == 2
    order: list[str] = []

    def draw_figures() -> None:
        turns.wait_turn()
        order.append("figures")

    drawer = threading.Thread(target=draw_figures)
    drawer.start()
    time.sleep(0.2)
    order.append("label 1")
    first.done()
    time.sleep(0.2)
    assert order == ["label 1"]  # one label is still pending: the figures still wait
    order.append("label 2")
    second.done()
    drawer.join(timeout=5)
    assert order == ["label 1", "label 2", "figures"]
    assert turns.pending == 0


def test_a_stuck_session_delays_figures_by_max_wait_at_most() -> None:
    turns = LabelsFirst(max_wait=0.3)
    turns.ticket()  # never shown
    started = time.perf_counter()
    assert turns.wait_turn() is False
    assert 0.25 < time.perf_counter() - started < 2.0


def test_a_ticket_closes_once_even_when_done_twice_or_on_error() -> None:
    turns = LabelsFirst()
    ticket = turns.ticket()
    ticket.done()
    ticket.done()
    assert turns.pending == 0
    try:
        with turns.ticket():
            raise RuntimeError("the model failed")
    except RuntimeError:
        pass
    assert turns.pending == 0
