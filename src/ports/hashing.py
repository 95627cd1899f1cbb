"""The password hasher port."""

from __future__ import annotations

from typing import Protocol


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str:
        """A salted hash of `password`, at most 255 characters."""
        ...

    def verify(self, password_hash: str, password: str) -> bool:
        """Whether `password` matches `password_hash`."""
        ...

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with weaker parameters than the current ones."""
        ...
