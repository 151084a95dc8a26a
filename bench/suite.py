"""``make bench``: every benchmark of issue 19 in one run, written to ``bench/results/<date>.md``.

    uv run python -m bench.suite            # the measured run (about 12-15 minutes on 2 cores)
    uv run python -m bench.suite --quick    # a short check that everything runs; prints only

In order, each on services of its own started and stopped by its module: the payment throughput
cases at 8 and 32 clients on SQLite (``bench.payments``: bare-2024, bare, durapay, localstripe),
the same for the bare cases and durapay on PostgreSQL, the single-client latency over a real
socket on the dev stack (``bench.latency``), and the simulated subscription year against its bare
shape (``bench.subscription_year``). ``--quick`` runs each with a few payments and subscriptions:
its figures only show that the benchmarks work, so it writes no results file unless ``--output``
names one.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import latency, payments, subscription_year
from bench.harness import Report, machine

RESULTS = Path(__file__).parent / "results"

Section = Callable[[Path], Awaitable[Report]]


def sections(quick: bool) -> list[tuple[str, Section]]:
    """Each section's title and how it runs in a fresh data dir."""
    batch = ["--payments", "40", "--warmup", "5"] if quick else []
    sqlite = payments.parser().parse_args(batch)
    postgres = payments.parser().parse_args(
        [*batch, "--database", "postgres", "--cases", "bare-2024", "bare", "durapay"]
    )
    single = latency.parser().parse_args(["--payments", "30", "--warmup", "5"] if quick else [])
    subscriptions, shape = (3 if quick else 20), "bare"
    return [
        (
            "Payments under load, SQLite (`bench.payments`)",
            lambda data_dir: payments.run(sqlite, data_dir),
        ),
        (
            "Payments under load, PostgreSQL (`bench.payments --database postgres`)",
            lambda data_dir: payments.run(postgres, data_dir),
        ),
        (
            "Single-client latency on the dev stack (`bench.latency`)",
            lambda data_dir: latency.run(single, data_dir),
        ),
        (
            "Subscriptions through a simulated year (`bench.subscription_year`)",
            lambda data_dir: subscription_year.run(subscriptions, data_dir, shape),
        ),
    ]


async def run_all(quick: bool) -> str:
    started = datetime.now(UTC)
    parts = [
        f"# Benchmarks, {started:%Y-%m-%d}",
        "",
        f"`make bench` (`python -m bench.suite{' --quick' if quick else ''}`), started"
        f" {started:%H:%M} UTC. What each case is: the docstrings of `bench/payments.py`,"
        " `bench/bare_payment.py`, `bench/latency.py` and `bench/subscription_year.py`.",
        "",
        "## Machine",
        "",
        machine(),
    ]
    summary: list[str] = []
    body: list[str] = []
    for title, section in sections(quick):
        print(f"== {title}", flush=True)
        clock = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="durapay-bench-") as data_dir:
            report = await section(Path(data_dir))
        took = time.monotonic() - clock
        print(report.text, flush=True)
        summary += report.summary
        body += ["", f"## {title}", "", report.text, "", f"_{took / 60:.1f} minutes._"]
    total = (datetime.now(UTC) - started).total_seconds()
    parts += ["", "## Summary", "", *(f"- {line}" for line in summary), *body]
    parts += ["", f"Whole run: {total / 60:.1f} minutes.", ""]
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few payments: checks, no figures")
    parser.add_argument("--output", type=Path, help="default: bench/results/<UTC date>.md")
    arguments = parser.parse_args()
    text = asyncio.run(run_all(arguments.quick))
    output = arguments.output
    if output is None and not arguments.quick:
        output = RESULTS / f"{datetime.now(UTC):%Y-%m-%d}.md"
    if output is not None:
        output.write_text(text)
        print(f"written to {output}")


if __name__ == "__main__":
    main()
