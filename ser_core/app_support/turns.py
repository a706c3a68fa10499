"""How concurrent app sessions share the CPU: model passes take turns, labels come before figures.

Every session's script runs in a thread of the one server process, so its Python work (building
plotly figures, serialising them) holds the GIL. Under load, sessions drawing the charts of an
answer they already have would slow every session still waiting for its label; here a session
whose label is shown waits, asleep, until no label is pending before it draws its figures.
"""

from __future__ import annotations

import threading

__all__ = ["LABELS_FIRST", "MODEL_PASSES", "LabelTicket", "LabelsFirst"]

#: Model passes the app runs at once: one per CPU core would still let many sessions' Python
#: threads fight over the GIL (and starve the server's event loop that sends each label), so
#: clicks take turns; each pass is a fraction of a second.
MODEL_PASSES = threading.BoundedSemaphore(1)


class LabelTicket:
    """One session's pending label; :meth:`done` (idempotent) once it is shown or has failed."""

    def __init__(self, owner: LabelsFirst) -> None:
        self._owner = owner
        self._open = True

    def done(self) -> None:
        if self._open:
            self._open = False
            self._owner._release()

    def __enter__(self) -> LabelTicket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.done()


class LabelsFirst:
    """Sessions waiting for a label go before sessions drawing figures.

    A click takes a :meth:`ticket`; the session calls ``ticket.done()`` when its label is on
    screen. :meth:`wait_turn` blocks (without holding the GIL) while any ticket is open, for at
    most ``max_wait`` seconds, so a stuck session can delay others' figures but never stop them.
    """

    def __init__(self, max_wait: float = 10.0) -> None:
        self.max_wait = max_wait
        self._pending = 0
        self._changed = threading.Condition()

    @property
    def pending(self) -> int:
        """Labels clicked for and not yet shown."""
        with self._changed:
            return self._pending

    def ticket(self) -> LabelTicket:
        with self._changed:
            self._pending += 1
        return LabelTicket(self)

    def _release(self) -> None:
        with self._changed:
            self._pending -= 1
            if self._pending == 0:
                self._changed.notify_all()

    def wait_turn(self) -> bool:
        """Wait until no label is pending (True) or ``max_wait`` has passed (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending == 0, timeout=self.max_wait)


#: The app's one scheduler (shared by every session of the process).
LABELS_FIRST = LabelsFirst()
