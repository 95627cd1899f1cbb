"""`make bench` writes its tables into docs/performance.md between the markers of a generated
section and leaves every other byte of the page as it was."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bench import page
from bench.__main__ import Run, document, without_docs

PAGE = Path(__file__).parents[2] / "docs" / "performance.md"


def _outside(text: str, name: str) -> tuple[str, str]:
    before, _, rest = text.partition(page.begin_marker(name))
    _, _, after = rest.partition(page.end_marker(name))
    return before, after


def test_only_the_marked_section_is_replaced() -> None:
    text = (
        "# Hand-written\n\nkept ```text``` and | a | table |\n\n"
        f"{page.begin_marker('main')}\nold figures\n{page.end_marker('main')}\n\n"
        f"tail, with another section\n{page.begin_marker('other')}\nits own\n"
        f"{page.end_marker('other')}\nend\n"
    )
    once = page.replace_section(text, "main", "new figures")
    assert _outside(once, "main") == _outside(text, "main")
    assert "new figures" in once
    assert "old figures" not in once
    assert "its own" in once
    twice = page.replace_section(once, "main", "newer figures")
    assert _outside(twice, "main") == _outside(text, "main")
    assert "new figures" not in twice
    assert "newer figures" in twice


@pytest.mark.parametrize(
    "text",
    [
        "no markers at all",
        f"{page.begin_marker('main')} only the beginning",
        f"{page.end_marker('main')} then {page.begin_marker('main')}",
        f"{page.begin_marker('main')}{page.end_marker('main')}" * 2,
    ],
)
def test_a_page_without_one_ordered_pair_of_markers_is_refused(text: str) -> None:
    with pytest.raises(page.SectionMissing):
        page.replace_section(text, "main", "figures")


def test_the_run_writes_its_table_and_targets_into_a_copy_of_the_page(tmp_path: Path) -> None:
    copy = tmp_path / "performance.md"
    original = PAGE.read_text()
    copy.write_text(original)
    run = Run.__new__(Run)
    run.rows = [
        ("get product by id", "shopdb", [10.0, 12.0, 11.0]),
        ("get product by id", "psycopg + pool", [10.0]),
        ("COPY to a bare TEMP table (rows/s)", "psycopg, 1 conn", [5000.0]),
    ]
    run.targets = ["  get by id vs psycopg + pool            1.10x  (target >= 0.9x)  met"]
    arguments = ["--docs", str(copy), "--ops", "10"]
    document(copy, run, page.started(), "PostgreSQL 18, not pinned", arguments)
    written = copy.read_text()
    assert _outside(written, "main") == _outside(original, "main")
    assert "| get product by id | 11 (1.10x) | 10 | - | - |" in written
    assert "| COPY to a bare TEMP table (rows/s) | - | - | 5,000 | - |" in written
    assert run.targets[0] in written
    assert re.search(r"- measured: from \d{4}-\d\d-\d\d \d\d:\d\d UTC, commit \w+", written)
    assert "- command: `python -m bench --ops 10`" in written
    assert "cores" in written  # the machine


def test_the_command_recorded_leaves_the_page_out() -> None:
    assert without_docs(["--docs", "p.md", "--pin", "--docs=q.md", "--ops", "5"]) == [
        "--pin",
        "--ops",
        "5",
    ]
