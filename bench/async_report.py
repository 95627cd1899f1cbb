"""The async bench's table, ratios and targets: printed as the sync table's, and written into
the page by a full run (bench/__main__.py's `document`)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from bench import loop_lag
from bench.async_contestants import Asyncpg, AsyncRawPool, AsyncShopdb
from bench.async_orm import AsyncOrm
from bench.page import table

WORKLOADS = ("get product by id", "load cart", "add to cart", "checkout + order")
NAMES = [AsyncShopdb.name, AsyncRawPool.name, AsyncOrm.name, Asyncpg.name]
SHOPDB, FLOOR, ORM, ASYNCPG = NAMES
RATIOS = f"{'shopdb/psycopg':>16} {'shopdb/ORM':>16} {'asyncpg/shopdb':>16}"


def label(workload: str, tasks: int) -> str:
    return f"{workload}, {plural(tasks)}"


def plural(tasks: int) -> str:
    return f"{tasks} task{'s' if tasks != 1 else ''}"


@dataclass
class Results:
    """What a run measured: rows as the sync table's (label, contestant, ops/s per repeat)."""

    rows: list[tuple[str, str, list[float]]] = field(default_factory=list)
    levels: list[int] = field(default_factory=list)
    lags: list[loop_lag.Lag] = field(default_factory=list)

    def median(self, workload: str, tasks: int, name: str) -> float | None:
        key = label(workload, tasks)
        found = [rates for row, contestant, rates in self.rows if (row, contestant) == (key, name)]
        return statistics.median(found[0]) if found else None

    def ratio(self, workload: str, tasks: int, ours: str, theirs: str) -> float | None:
        mine, other = self.median(workload, tasks, ours), self.median(workload, tasks, theirs)
        return mine / other if mine and other else None

    def ratios(self) -> list[tuple[str, int, list[float | None]]]:
        """Per workload and concurrency: shopdb/psycopg, shopdb/ORM, asyncpg/shopdb."""
        pairs = [(SHOPDB, FLOOR), (SHOPDB, ORM), (ASYNCPG, SHOPDB)]
        return [
            (workload, tasks, [self.ratio(workload, tasks, a, b) for a, b in pairs])
            for workload in WORKLOADS
            for tasks in self.levels
            if self.median(workload, tasks, SHOPDB)
        ]

    def targets(self) -> list[str]:
        lines = []
        for tasks in self.levels:
            found = [(r[0], w) for w, t, r in self.ratios() if t == tasks and r[0] is not None]
            if found:
                low, workload = min(found)
                lines.append(
                    _verdict(
                        f"async vs psycopg pool, {plural(tasks)}", low, 1.0, f"lowest: {workload}"
                    )
                )
        for workload, target in (("get product by id", 5.0), ("load cart", 5.0)):
            at = [(r[1], t) for w, t, r in self.ratios() if w == workload and r[1] is not None]
            if at:
                low, tasks = min(at)
                short = workload.replace("product by id", "by id")
                lines.append(
                    _verdict(f"async {short} vs async ORM", low, target, f"lowest: {plural(tasks)}")
                )
        if line := loop_lag.verdict(self.lags):
            lines.append(line)
        return lines

    def print_ratios(self) -> None:
        print(f"\n{'ratios of the medians':<34} {RATIOS}")
        for workload, tasks, values in self.ratios():
            cells = "".join(f"{'-' if v is None else f'{v:.2f}x':>17}" for v in values)
            print(f"{label(workload, tasks):<34}{cells}", flush=True)

    def markdown(self) -> str:
        """The async table, the ratios and the lags, for the page."""
        medians = [(row, name, statistics.median(rates)) for row, name, rates in self.rows]
        blocks = [table(medians, NAMES, FLOOR, "async ops/s, median")] if medians else []
        if ratios := self.ratios():
            lines = [
                "| async workload | shopdb / psycopg async | shopdb / async ORM"
                " | asyncpg / shopdb |",
                "| --- | ---: | ---: | ---: |",
            ]
            for workload, tasks, values in ratios:
                cells = " | ".join("-" if v is None else f"{v:.2f}x" for v in values)
                lines.append(f"| {label(workload, tasks)} | {cells} |")
            blocks.append("\n".join(lines))
        if self.lags:
            blocks.append(loop_lag.markdown(self.lags))
        return "\n\n".join(blocks)


def _verdict(name: str, ratio: float, target: float, note: str) -> str:
    met = "met" if ratio >= target else "MISSED"
    return f"  {name:<36} {ratio:6.2f}x  (target >= {target}x, {note})  {met}"


def report(rows: list[tuple[str, str, list[float]]]) -> None:
    """As the sync table's lines, the ratio to the psycopg async pool's median."""
    floor = next((statistics.median(r) for _, name, r in rows if name == FLOOR), None)
    for row, name, rates in rows:
        median = statistics.median(rates)
        ratio = f"{median / floor:5.2f}x" if floor else "  -  "
        print(
            f"{row:<34} {name:<26} {median:>11,.0f} "
            f"{min(rates):>11,.0f} - {max(rates):<11,.0f} {ratio}",
            flush=True,
        )
