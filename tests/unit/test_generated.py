"""The sync side is generated from the async one (tools/generate_sync.py): a generated module
edited by hand, or a source changed without `make generate`, fails here."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from tools import generate_sync

SOURCES = generate_sync.sources()


def test_there_are_async_sources() -> None:
    assert any(p.name == "lifecycle_async.py" for p in SOURCES)


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: str(p.relative_to(generate_sync.ROOT)))
def test_generated_module_is_current(source: Path) -> None:
    target, text = generate_sync.generated(source)
    assert target.exists(), f"{target.name} was never generated: run make generate"
    assert target.read_text() == text, f"{target.name} is not as generated: run make generate"


def _sync(source: str) -> str:
    return generate_sync.unasync(textwrap.dedent(source), Path("x_async.py"))


def test_awaits_and_async_keywords_go() -> None:
    got = _sync("""
        async def f(uow: AsyncUnitOfWork) -> None:
            async with uow:
                async for row in rows_async():
                    await uow.users.add(row)
    """)
    assert got == textwrap.dedent("""
        def f(uow: UnitOfWork) -> None:
            with uow:
                for row in rows():
                    uow.users.add(row)
    """)


def test_an_async_block_keeps_its_else_body() -> None:
    got = _sync("""
        def f() -> None:
            if True:  # ASYNC
                await asyncio.sleep(1)
            else:
                time.sleep(1)
                # the sync way
            done()
    """)
    assert got == textwrap.dedent("""
        def f() -> None:
            time.sleep(1)
            # the sync way
            done()
    """)


def test_an_async_block_without_else_goes() -> None:
    got = _sync("""
        if True:  # ASYNC
            import asyncio
        x = 1
    """)
    assert got == "\nx = 1\n"


def test_names_in_strings_and_comments() -> None:
    got = _sync('''
        def f() -> None:
            """Use it as `async with AsyncPostgresUnitOfWork(...)`: an async unit of work."""
            # await __aenter__ of carts_async
    ''')
    assert got == textwrap.dedent('''
        def f() -> None:
            """Use it as `with PostgresUnitOfWork(...)`: a unit of work."""
            # __enter__ of carts
    ''')


def test_the_parentheses_of_an_await_go_with_it() -> None:
    got = _sync("""
        async def f(cur: AsyncCursor) -> None:
            row = await (await cur.execute(Q, (1,))).fetchone()
            n = (await cur.execute(Q)).rowcount
            rows = await (
                await cur.execute(Q, (1,))
            ).fetchall()
            g((await h())[0], await k(), (await m) + 1)
    """)
    assert got == textwrap.dedent("""
        def f(cur: Cursor) -> None:
            row = cur.execute(Q, (1,)).fetchone()
            n = cur.execute(Q).rowcount
            rows = cur.execute(Q, (1,)).fetchall()
            g(h()[0], k(), (m) + 1)
    """)
