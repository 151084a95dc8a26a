"""Durations across a workflow boundary: whole seconds on the wire, ``timedelta`` to the reader.

Temporal's JSON converter has no ``timedelta``, so a contract stores ``<name>_seconds: int`` and
declares ``<name> = Seconds()`` beside it; ``contract.<name>`` is then the ``timedelta``. Only
the ``int`` is a dataclass field, so the JSON holds exactly what it held before.
"""

from datetime import timedelta
from typing import Any, overload


class Seconds:
    """A read-only ``timedelta`` view of the ``<name>_seconds`` field next to it."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._field = f"{name}_seconds"

    @overload
    def __get__(self, instance: None, owner: type) -> "Seconds": ...

    @overload
    def __get__(self, instance: object, owner: type) -> timedelta: ...

    def __get__(self, instance: object, owner: type) -> Any:
        if instance is None:
            return self
        return timedelta(seconds=getattr(instance, self._field))
