"""Error messages are safe to show and log, on both adapters: an unknown field's name, a
username or an email looked up, come back as a short escaped excerpt, never raw or whole."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from domain.errors import DomainError, InvalidInput, UserNotFound
from domain.messages import MESSAGE_MAX, SHOWN_MAX
from ports.unit_of_work_async import AsyncUnitOfWorkFactory
from services.catalog_async import AsyncCatalogService
from tests.contract.helpers_async import add_product

# A field name that forges a log line and clears the screen, 10,000 characters long.
FORGED = "x" * 10_000 + "\nERROR forged line\x1b[2J"


async def _refusal(action: Callable[[], Any]) -> str:
    with pytest.raises(DomainError) as info:
        await action()
    message = str(info.value)
    assert message.isprintable()
    assert "\n" not in message
    assert "\x1b" not in message
    assert FORGED not in message
    assert "x" * (SHOWN_MAX + 1) not in message
    return message


async def test_unknown_field_names_are_shown_bounded(uow: AsyncUnitOfWorkFactory) -> None:
    lamp = await add_product(uow)
    catalog = AsyncCatalogService(uow)
    message = await _refusal(lambda: catalog.update_product(lamp.id, 1, **{FORGED: 1}))
    assert len(message) < 150, message
    message = await _refusal(lambda: catalog.import_products([{"name": "Rug", FORGED: 1}]))
    assert "row 1" in message
    assert len(message) < 150, message


@pytest.mark.parametrize("lookup", ["get_by_username", "get_by_email"])
async def test_a_user_not_found_shows_an_excerpt_of_the_key(
    uow: AsyncUnitOfWorkFactory, lookup: str
) -> None:
    async with uow(read_only=True) as work:
        message = await _refusal(lambda: getattr(work.users, lookup)(FORGED))
    assert message.startswith("user 'xxx")
    assert f"{len(FORGED)} characters" in message, message
    async with uow(read_only=True) as work:
        with pytest.raises(UserNotFound, match=r"'alice\\n'"):
            await getattr(work.users, lookup)("alice\n")


async def test_every_bad_field_is_listed_up_to_a_bound(uow: AsyncUnitOfWorkFactory) -> None:
    catalog = AsyncCatalogService(uow)
    with pytest.raises(InvalidInput) as info:
        await catalog.import_products([{f"field {n}": n for n in range(5_000)}])
    assert len(info.value.problems) == 5_002  # name and price missing, 5,000 unknown
    assert str(info.value).endswith("; and 4990 more")
    assert len(str(info.value)) <= MESSAGE_MAX
