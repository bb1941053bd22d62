"""What drawing progress costs: `audit import` and `audit run` timed with and without it, in turn.

    python -m benchmarks.progress_cost --searches 1000000 --runs 3

Each pair of runs imports the same synthetic Network Audit (:func:`benchmarks.compare.dataset`) into
a fresh store, once with ``--no-progress`` and once drawing progress on a pseudo-terminal (the
path a user at a terminal takes: a line redrawn five times a second); then audits a fresh copy of
the imported store both ways. Runs alternate, so load from other work on the machine falls on both
sides alike; the medians and their ratio are printed. The library reports at batch boundaries only
(:mod:`auditor.progress`), so the ratio should be 1 within the machine's noise.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.compare import _fresh, dataset


def _timed(argv: list[str], terminal: bool) -> float:
    """Seconds one command takes; its standard error on a pseudo-terminal when ``terminal``."""
    if not terminal:
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - started
    leader, follower = os.openpty()
    drained = threading.Thread(target=_drain, args=(leader,), daemon=True)
    drained.start()
    started = time.perf_counter()
    try:
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=follower)
        return time.perf_counter() - started
    finally:
        os.close(follower)
        drained.join(timeout=5)
        os.close(leader)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 65536):
            pass
    except OSError:  # the terminal closed
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.progress_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--searches", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="pairs of runs per command; medians reported")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    path, _counts = dataset(args.searches, args.seed)
    audit = [shutil.which("audit", path=str(Path(sys.executable).parent)) or "audit"]  # the installed command
    times: dict[str, list[float]] = {k: [] for k in ("import quiet", "import drawn", "run quiet", "run drawn")}
    with tempfile.TemporaryDirectory() as tmp:
        store, imported = Path(tmp) / "s.db", Path(tmp) / "imported.db"
        for i in range(args.runs):
            for drawn in ((False, True) if i % 2 == 0 else (True, False)):
                _fresh(store)
                flag = "--progress" if drawn else "--no-progress"
                times[f"import {'drawn' if drawn else 'quiet'}"].append(
                    _timed([*audit, "import", "--db", str(store), flag, str(path)], terminal=drawn))
            if i == 0:
                shutil.copyfile(store, imported)
            for drawn in ((False, True) if i % 2 == 0 else (True, False)):
                _fresh(store)
                shutil.copyfile(imported, store)
                flag = "--progress" if drawn else "--no-progress"
                times[f"run {'drawn' if drawn else 'quiet'}"].append(
                    _timed([*audit, "run", "--db", str(store), flag], terminal=drawn))
    print(f"{args.searches:,} searches, {args.runs} pair(s) of runs, load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores at the end")
    for command in ("import", "run"):
        quiet, drawn = statistics.median(times[f"{command} quiet"]), statistics.median(times[f"{command} drawn"])
        print(f"audit {command:<6} quiet {quiet:6.2f} s  drawn {drawn:6.2f} s  ratio {drawn / quiet:.3f}  "
              f"(runs quiet {', '.join(f'{t:.2f}' for t in times[f'{command} quiet'])}; "
              f"drawn {', '.join(f'{t:.2f}' for t in times[f'{command} drawn'])})")


if __name__ == "__main__":
    main()
