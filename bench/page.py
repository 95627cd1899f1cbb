"""The generated sections of docs/performance.md: `make bench` writes its tables there.

A section is what lies between its two markers, `<!-- bench NAME: begin ... -->` and
`<!-- bench NAME: end -->`. Writing one replaces that text alone; the rest of the page is
hand-written and stays as it is."""

from __future__ import annotations

import datetime
import os
import platform
import re
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / "docs" / "performance.md"


class SectionMissing(ValueError):
    """The page lacks the section's markers, or holds them more than once or out of order."""


def begin_marker(name: str) -> str:
    return f"<!-- bench {name}: begin (written by `make bench`; edits here are overwritten) -->"


def end_marker(name: str) -> str:
    return f"<!-- bench {name}: end -->"


def replace_section(page: str, name: str, body: str) -> str:
    """`page` with the text between the markers of section `name` replaced by `body`."""
    begin, end = begin_marker(name), end_marker(name)
    if page.count(begin) != 1 or page.count(end) != 1:
        raise SectionMissing(f"the page needs each marker of section {name!r} exactly once")
    start, stop = page.index(begin) + len(begin), page.index(end)
    if stop < start:
        raise SectionMissing(f"the end marker of section {name!r} comes before its beginning")
    return f"{page[:start]}\n\n{body.strip()}\n\n{page[stop:]}"


def write_section(path: Path, name: str, body: str) -> None:
    path.write_text(replace_section(path.read_text(), name, body))


def table(
    rows: Sequence[tuple[str, str, float]], contestants: Sequence[str], floor: str, unit: str
) -> str:
    """A Markdown table of medians, one row a workload, one column a contestant, each median
    with its ratio to the `floor` contestant's; `-` where a contestant did not run."""
    medians: dict[str, dict[str, float]] = {}
    for workload, contestant, median in rows:
        medians.setdefault(workload, {})[contestant] = median
    lines = [
        f"| workload ({unit}) | {' | '.join(contestants)} |",
        f"| --- |{' ---: |' * len(contestants)}",
    ]
    for workload, by_contestant in medians.items():
        base = by_contestant.get(floor)
        cells = []
        for contestant in contestants:
            value = by_contestant.get(contestant)
            if value is None:
                cells.append("-")
            elif contestant == floor or not base:
                cells.append(f"{value:,.0f}")
            else:
                cells.append(f"{value:,.0f} ({value / base:.2f}x)")
        lines.append(f"| {workload} | {' | '.join(cells)} |")
    return "\n".join(lines)


def machine() -> str:
    """What ran it: processor, cores, memory, system, and the load when it ended."""
    model = "unknown processor"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        model = found.group(1).strip() if found else model
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists() and (kib := re.search(r"^MemTotal:\s*(\d+)", meminfo.read_text(), re.M)):
        memory = f", {int(kib.group(1)) / 2**20:.0f} GiB"
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{model}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()};"
        f" load average {load} (1, 5, 15 min) at the end"
    )


def commit() -> str:
    """The checkout's commit, marked when files differ from it."""
    try:
        head, changes = (
            subprocess.run(  # noqa: S603 - git with fixed arguments
                ["git", *command],  # noqa: S607 - git on the PATH
                cwd=PAGE.parent,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            for command in (["rev-parse", "--short", "HEAD"], ["status", "--porcelain"])
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} with uncommitted changes" if changes else head


def started() -> str:
    """When a run starts and from which commit: to be written with its figures."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{now}, commit {commit()}"


def provenance(began: str, arguments: Sequence[str], described: str) -> str:
    """When, from which commit, with which command and on what the figures were measured."""
    command = shlex.join(["python", "-m", "bench", *arguments])
    return "\n".join(
        [
            f"- measured: from {began}",
            f"- command: `{command}`",
            f"- machine: {machine()}",
            f"- run: {described}",
        ]
    )
