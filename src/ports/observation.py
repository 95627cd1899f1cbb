"""The port through which services report their use cases (logs, spans), if anything listens."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol


class Observer(Protocol):
    def use_case(self, name: str) -> AbstractContextManager[object] | None:
        """An observation of the use case `name` (e.g. "CartService.checkout") for the service to
        run it in, or None when nobody would see it: then the service runs it bare, so an
        unobserved call costs one method call."""
        ...
