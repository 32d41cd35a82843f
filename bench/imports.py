"""Cold import time of each handler next to a bare `import boto3`.

A Lambda cold start pays for the handler module's import before the first invocation. Each
measurement is a fresh interpreter importing one module, timed inside the child with
`time.perf_counter` so interpreter start-up is left out. Byte code is warm (one throwaway
import first), as it is in a deployed layer that ships .pyc files or after the first start.
The handlers read their settings only when invoked, so the child gets no COMEBACK_* variables
and no AWS endpoint: an import that needed them would fail here.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from comeback.local.functions import FUNCTION_NAMES

ROOT = Path(__file__).resolve().parents[1]
COMMON_LAYER = ROOT / "layers" / "common" / "python"
REPEATS = 5

# Only `sys` and `time` (built in, already loaded at start-up) before the clock starts.
_CHILD = """
import sys, time
before = len(sys.modules)
start = time.perf_counter()
import {module}
elapsed = time.perf_counter() - start
print(elapsed * 1000, len(sys.modules) - before)
"""


@dataclass(frozen=True)
class ImportTime:
    name: str
    median_ms: float
    min_ms: float
    max_ms: float
    modules: int


def _environment(path: list[Path]) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("COMEBACK_", "AWS_", "POWERTOOLS_", "PYTHON"))
    }
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in path)
    return env


def _once(module: str, path: list[Path]) -> tuple[float, int]:
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD.format(module=module)],
        env=_environment(path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"importing {module} failed:\n{completed.stderr}")
    elapsed, modules = completed.stdout.split()
    return float(elapsed), int(modules)


def measure() -> list[ImportTime]:
    """Every module once (throwaway, writes the .pyc files), then REPEATS rounds over all of
    them, so a burst of load from elsewhere on the machine hits every module alike."""
    targets: list[tuple[str, str, list[Path]]] = [("import boto3 (bare)", "boto3", [])]
    for name in FUNCTION_NAMES:
        folder = ROOT / "functions" / name
        targets.append((f"functions/{name}/handler.py", "handler", [COMMON_LAYER, folder]))
    for _, module, path in targets:
        _once(module, path)
    runs: list[list[tuple[float, int]]] = [[] for _ in targets]
    for _ in range(REPEATS):
        for i, (_, module, path) in enumerate(targets):
            runs[i].append(_once(module, path))
    results = []
    for (name, _, _), measured in zip(targets, runs, strict=True):
        times = [elapsed for elapsed, _ in measured]
        modules = max(count for _, count in measured)
        results.append(ImportTime(name, statistics.median(times), min(times), max(times), modules))
    return results


def rows(results: list[ImportTime]) -> list[list[object]]:
    return [[r.name, r.median_ms, r.min_ms, r.max_ms, r.modules] for r in results]


HEADERS = ["module", "median ms", "min ms", "max ms", "modules loaded"]
