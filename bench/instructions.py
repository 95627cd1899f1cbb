"""Client instructions per point read, counted by callgrind (needs valgrind).

    python -m bench.instructions URL [--op get|email] [--calls 10000] [--tree DIR] [--keys 5000]
                                     [--simulate]

URL is a database the bench seeded (`python -m bench --database NAME` leaves one). The read
runs through the bench's shopdb contestant in two processes under callgrind: 200 warm-up calls
then 1,000 calls, and the same with 1,000 + `calls`. The difference of the two totals divided
by `calls` is what the client spends per call, start-up and warm-up excluded. Runs differ by
~1 % (the pool's threads and the deadline watchdog wake by the clock, and a run under valgrind
is slow), where a timed run on a VM moves by several %. The server's work is not counted, nor
how fast the CPU runs the instructions: a timed run still decides.

`--simulate` adds callgrind's simulation of the caches and branch predictors, and prints per
call the first-level cache misses (instructions, data) and the mispredicted branches
(conditional, indirect) besides the instructions. Two versions with equal instructions can
differ there: a mispredicted branch costs ~15-20 cycles, as many as a dozen instructions.
Class defaults that CPython 3.11's specialized attribute paths missed (read where instances had
not set them) showed as 100-250 more mispredictions and 200-300 more misses a `get`, ~3 µs,
with no more instructions.

`--tree DIR` measures the code of another checkout (its bench/ and src/ come first on the
path), to compare two versions on one database."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
WARM_UP = 200
BASE = 1000


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions")
    parser.add_argument("url")
    parser.add_argument("--op", choices=("get", "email"), default="get")
    parser.add_argument("--calls", type=int, default=10000)
    parser.add_argument("--tree", type=Path, default=HERE)
    parser.add_argument("--keys", type=int, default=5000, help="products and users read in turn")
    parser.add_argument(
        "--simulate", action="store_true", help="also count cache misses and mispredictions"
    )
    parser.add_argument("--inner", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner is not None:
        _calls(args.tree, args.url, args.op, args.inner, args.keys)
        return
    runs = [_counted(args, BASE + extra) for extra in (0, args.calls)]
    per_call = {event: (runs[1][event] - runs[0][event]) / args.calls for event in runs[0]}
    line = f"{args.op} ({args.tree}): {per_call['Ir']:,.0f} instructions a call"
    if args.simulate:
        line += "; " + ", ".join(
            f"{sum(per_call[event] for event in events):,.0f} {name}" for name, events in SIMULATED
        )
    print(line)


# What --simulate prints: callgrind's event names, summed.
SIMULATED = (
    ("instruction cache misses", ("I1mr",)),
    ("data cache misses", ("D1mr", "D1mw")),
    ("mispredicted conditional branches", ("Bcm",)),
    ("mispredicted indirect branches", ("Bim",)),
)


def _counted(args: argparse.Namespace, calls: int) -> dict[str, int]:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        subprocess.run(  # noqa: S603 - valgrind on this interpreter and module, as a list
            [
                valgrind,
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                *(["--cache-sim=yes", "--branch-sim=yes"] if args.simulate else []),
                sys.executable,
                "-m",
                "bench.instructions",
                args.url,
                f"--op={args.op}",
                f"--tree={args.tree}",
                f"--inner={calls}",
                f"--keys={args.keys}",
            ],
            cwd=HERE,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return totals(out.read_text())


def totals(callgrind_out: str) -> dict[str, int]:
    """The totals of a callgrind output file, by event name (`Ir`: instructions)."""
    events = re.search(r"^events: (.+)$", callgrind_out, re.MULTILINE)
    summary = re.search(r"^summary: (.+)$", callgrind_out, re.MULTILINE)
    if events is None or summary is None:
        raise SystemExit("callgrind wrote no summary")
    return dict(zip(events.group(1).split(), map(int, summary.group(1).split()), strict=True))


def _calls(tree: Path, url: str, op: str, calls: int, keys: int) -> None:
    sys.path[:0] = [str(tree), str(tree / "src")]
    for name in [m for m in sys.modules if m == "bench" or m.startswith("bench.")]:
        del sys.modules[name]  # this module's own package: the tree's comes first now
    from bench.contestants import Shopdb

    shopdb: Any = Shopdb(url, 1)

    def get(n: int) -> Any:
        return shopdb.get_product(1 + n % keys)

    def email(n: int) -> Any:
        return shopdb.get_user(f"user{n % keys}@example.com")

    call = get if op == "get" else email
    for n in range(WARM_UP):
        call(n)
    for n in range(calls):
        call(n)
    shopdb.close()


if __name__ == "__main__":
    main()
