"""Password hashing with Argon2id (argon2-cffi), and a fast hasher for tests only."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError

from ports.hashing import PasswordHasher


class Argon2PasswordHasher:
    """Argon2id with argon2-cffi's recommended parameters; tests may pass cheaper ones."""

    def __init__(self, *, time_cost: int = 3, memory_cost: int = 65536, parallelism: int = 4):
        self._argon2 = _Argon2(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
        )

    def hash(self, password: str) -> str:
        return self._argon2.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._argon2.check_needs_rehash(password_hash)
        except InvalidHashError:  # not Argon2 at all, e.g. InsecureTestHasher's
            return True


# The class's conformance to its port: `mypy src` fails here when a port method is missing
# or its signature differs.
_conforms: type[PasswordHasher] = Argon2PasswordHasher

INSECURE_PREFIX = "$insecure-test$"


class InsecureTestHasher:
    """FOR TESTS ONLY: one salted SHA-256, about 2 µs where Argon2id takes 100-400 ms. Its
    hashes start with `$insecure-test$`, which Argon2PasswordHasher never verifies, and the
    container refuses it unless its settings are `shopdb.testing.TestSettings`."""

    def hash(self, password: str) -> str:
        salt = secrets.token_hex(16)
        return f"{INSECURE_PREFIX}{salt}${_digest(salt, password)}"

    def verify(self, password_hash: str, password: str) -> bool:
        parts = _parts(password_hash)
        if parts is None:
            return False
        salt, digest = parts
        return hmac.compare_digest(digest, _digest(salt, password))

    def needs_rehash(self, password_hash: str) -> bool:
        return _parts(password_hash) is None


def _digest(salt: str, password: str) -> str:
    return hashlib.sha256(f"{salt}${password}".encode()).hexdigest()


def _parts(password_hash: str) -> tuple[str, str] | None:
    """(salt, digest) of a hash InsecureTestHasher made, else None."""
    if not (isinstance(password_hash, str) and password_hash.startswith(INSECURE_PREFIX)):
        return None
    salt, _, digest = password_hash.removeprefix(INSECURE_PREFIX).partition("$")
    hexdigits = set("0123456789abcdef")
    if len(salt) != 32 or len(digest) != 64 or not set(salt + digest) <= hexdigits:
        return None
    return salt, digest


_insecure_conforms: type[PasswordHasher] = InsecureTestHasher
