"""The one listener list of the hub: parts tell each other what happened without knowing who listens.

``Listeners[[DeviceChange]]`` holds functions taking a ``DeviceChange``; ``add`` returns the
function that removes it again (call it once the listener's owner stops). ``emit`` calls every
listener in the order they were added; one that raises does not stop the others nor the part
that emitted: its exception is logged with its traceback and counted under the list's event
(``/metrics``: ``classroom_hub_swallowed_errors_total{event="device_listener_failed"}``).

Adding and removing replace an immutable snapshot, so ``emit`` copies nothing (ingest emits
for every telemetry message), a listener may remove itself while being called, and a thread
(the studio's compositor) may emit while the event loop adds a listener.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, ParamSpec

from classroom_hub.errors import swallowed

P = ParamSpec("P")


class Listeners(Generic[P]):
    def __init__(self, failure_event: str) -> None:
        """``failure_event`` names a listener's failure in the log and the counter, e.g. ``run_listener_failed``."""
        self.failure_event = failure_event
        self._listeners: tuple[Callable[P, None], ...] = ()

    def add(self, listener: Callable[P, None]) -> Callable[[], None]:
        """Call ``listener`` on every event from now on; returns the function that removes it."""
        self._listeners = (*self._listeners, listener)

        def remove() -> None:
            self._listeners = tuple(fn for fn in self._listeners if fn is not listener)

        return remove

    def emit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        for listener in self._listeners:
            try:
                listener(*args, **kwargs)
            except Exception:  # a listener's bug must not cost the others their event, nor the emitter its work
                swallowed(self.failure_event, listener=getattr(listener, "__qualname__", repr(listener)),
                          value=repr(args[0] if args else None)[:120])  # fmt: skip

    def __len__(self) -> int:
        return len(self._listeners)
