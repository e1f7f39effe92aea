"""The one shape of a background loop: started once, pausing between rounds, surviving a failed round."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger("fragerunde.workers")


class Tasks(Protocol):
    """What runs tasks in the server's async mode: python-socketio's Server or Flask-SocketIO's SocketIO."""

    def start_background_task(self, target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any: ...

    def sleep(self, seconds: float = 0) -> Any: ...


class Loop:
    """Runs `work()` again and again as a background task of `tasks`, `every` seconds apart (or as
    many as the round returns); a round that raises is logged and the next one follows `every`
    seconds later. The first round waits `first` seconds (default: `every`)."""

    def __init__(self, name: str, tasks: Tasks, work: Callable[[], float | None], every: float,
                 first: float | None = None):
        self.name = name
        self.tasks = tasks
        self.work = work
        self.every = every
        self.first = every if first is None else first
        self.started = False
        self.rounds = 0
        self._lock = threading.Lock()

    def start(self) -> bool:
        """Start the loop unless it runs already; whether this call started it."""
        with self._lock:
            if self.started:
                return False
            self.started = True
        self.tasks.start_background_task(self._run)
        return True

    def _run(self) -> None:
        pause = self.first
        while True:
            self.tasks.sleep(pause)
            pause = self.every
            try:
                wanted = self.work()
            except Exception:  # the loop must outlive any one round
                log.exception("%s failed", self.name)
            else:
                if wanted is not None:
                    pause = wanted
            self.rounds += 1
