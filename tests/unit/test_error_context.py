"""The values a statement's errors name are a typed value: a misspelt name fails mypy where it is
passed to `Session.writing` and where a constraint's error reads it, not at run time on the
failure path."""

from __future__ import annotations

from pathlib import Path

from adapters.postgres.constraints import BY_CONSTRAINT
from adapters.postgres.errors import ErrorContext
from domain.errors import CartFull, EmailTaken, UsernameTaken
from tests.typecheck import strict_mypy

SNIPPET = """
from adapters.postgres.errors import ConstraintErrors
from adapters.postgres.session import Session
from domain.errors import UsernameTaken

GOOD: ConstraintErrors = {"users_username_lower_key": lambda c: UsernameTaken(c["username"])}
MISSPELT: ConstraintErrors = {"users_username_lower_key": lambda c: UsernameTaken(c["usernme"])}


def passes(session: Session) -> None:
    with session.writing(one_statement=True, username="alice", email="a@example.com"):
        pass
    with session.writing(usernme="alice"):
        pass
    with session.writing(user_id="1"):
        pass
"""


def test_a_misspelt_or_mistyped_value_fails_mypy(tmp_path: Path) -> None:
    (tmp_path / "repository.py").write_text(SNIPPET)
    stdout, stderr = strict_mypy(tmp_path / "cache", tmp_path / "repository.py")
    assert stderr == ""
    lines = sorted(int(line.split(":")[1]) for line in stdout.splitlines() if ": error: " in line)
    # The misspelt key read back (line 7), the misspelt keyword (13), the id as text (15).
    assert lines == [7, 13, 15], stdout


def test_each_mapped_constraint_reads_the_values_its_statement_passes() -> None:
    context: ErrorContext = {"username": "alice", "email": "a@example.com", "cart_id": 7}
    assert isinstance(BY_CONSTRAINT["users_username_lower_key"](context), UsernameTaken)
    assert isinstance(BY_CONSTRAINT["users_email_lower_key"](context), EmailTaken)
    full = BY_CONSTRAINT["cart_items_lines_max_check"](context)
    assert isinstance(full, CartFull)
    assert full.cart_id == 7
    # A statement that does not know its cart (set_quantity) still gets CartFull.
    unnamed = BY_CONSTRAINT["cart_items_lines_max_check"]({})
    assert isinstance(unnamed, CartFull)
    assert str(unnamed).startswith("the cart already holds")
