"""Each private API in dependency_internals is chosen only where it is as verified, and its
public fallback is chosen otherwise. Both paths' behaviour: tests/unit/test_trusted_rows.py
(entities) and tests/integration/test_pool.py (the order connections are handed out in)."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from psycopg_pool import ConnectionPool
from pydantic import BaseModel, ConfigDict, PrivateAttr

from adapters.postgres import PoolConfig, ShopdbPool, create_pool
from adapters.postgres.dependency_internals import (
    ORDER_HOOK,
    SLOT_SETTERS,
    fast_path,
    has_order_hook,
    newest_first,
    row_mapper,
    slot_setters,
    trusted,
)
from adapters.postgres.pool import LifoConnectionPool

LOCK = Path(__file__).parents[2] / "requirements.lock"


def locked(package: str) -> bool:
    """Whether the installed `package` is the version requirements.lock pins: the fast paths
    must hold there; on newer releases (.ci/newest) the fallbacks may take over."""
    pinned = re.search(rf"^{re.escape(package)}==(\S+)", LOCK.read_text(), re.MULTILINE)
    assert pinned is not None, f"{package} is not in requirements.lock"
    same = pinned.group(1) == version(package)
    if not same:
        print(f"\n{package} {version(package)} (the lock has {pinned.group(1)})")
    return same


def test_the_locked_pydantic_takes_the_slots() -> None:
    print(f"\npydantic {version('pydantic')}: slots {SLOT_SETTERS is not None}")
    if locked("pydantic"):
        assert SLOT_SETTERS is not None


def test_the_locked_psycopg_pool_takes_the_ordering_hook() -> None:
    print(f"\npsycopg-pool {version('psycopg-pool')}: ordering hook {ORDER_HOOK}")
    if locked("psycopg-pool"):
        assert ORDER_HOOK
        pool = create_pool(PoolConfig(conninfo="postgresql:///unused"), open_now=False)
        assert isinstance(pool, LifoConnectionPool)
        assert type(pool) is not ShopdbPool


class _OtherSlots:
    __slots__ = ("__dict__", "__pydantic_fields_set__")


class _SlotsElsewhere(BaseModel):  # the slots are BaseModel's, not in this class's namespace
    pass


@pytest.mark.parametrize("base", [_OtherSlots, _SlotsElsewhere])
def test_slots_other_than_the_verified_ones_choose_model_construct(base: type[Any]) -> None:
    assert slot_setters(base) is None


class _Private(BaseModel):
    name: str
    _seen: int = PrivateAttr(default=7)


class _Extra(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str


@pytest.mark.parametrize("model", [_Private, _Extra])
def test_models_with_private_or_extra_state_are_built_by_model_construct(
    model: type[BaseModel],
) -> None:
    assert not fast_path(model, SLOT_SETTERS)
    built = row_mapper(model)(["lamp"])
    assert built == model.model_construct(name="lamp") == trusted(model, {"name": "lamp"})
    if model is _Private:
        assert built._seen == 7  # type: ignore[attr-defined]


class _Renamed(ConnectionPool[Any]):
    _get_ready_connection = None  # type: ignore[assignment]


class _Reshaped(ConnectionPool[Any]):
    def _get_ready_connection(self, timeout: float | None, block: bool = True) -> Any:
        return super()._get_ready_connection(timeout)


@pytest.mark.parametrize("pool_class", [_Renamed, _Reshaped])
def test_a_missing_or_reshaped_ordering_hook_is_not_overridden(
    pool_class: type[ConnectionPool[Any]],
) -> None:
    assert not has_order_hook(pool_class)
    assert newest_first(ShopdbPool, hook=has_order_hook(pool_class)) is ShopdbPool
