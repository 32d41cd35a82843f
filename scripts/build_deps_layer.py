"""Build the third-party Lambda layer (`layers/deps/build/python/...`) from its pinned list.

The Lambdas run Python 3.13 on arm64 while this machine runs another Python on another CPU, so
the packages are fetched as prebuilt wheels for the Lambda platform rather than installed for
the local interpreter (no Docker needed). A stamp file records what the build was made from;
an unchanged list skips the build, so the script is cheap to call before every synth or test.

Usage: uv run python scripts/build_deps_layer.py [--force]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

# Run as a file, so the repo root (home of the `infra` package) is not on the path by itself.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra import REPO_ROOT
from infra.deps_layer import (
    BUILD_DIR,
    PYTHON_VERSION,
    REQUIREMENTS,
    SITE_DIR_NAME,
    SOURCE_ONLY_PURE_PYTHON,
    STAMP_NAME,
    UV_PLATFORM,
    is_up_to_date,
    wanted_stamp,
)


def install_command(target: Path, requirements: Path) -> list[str]:
    """uv's pip, asked for wheels of the Lambda platform only, but for the few packages that
    publish nothing but a pure-Python source distribution (built here into a platform-free
    wheel). pip cannot mix the two when it targets another platform, so uv is required."""
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is None:
        raise SystemExit("uv is needed to build the layer: run `make setup` or install uv.")
    wheels_only = [
        arg
        for name in requirement_names(requirements)
        if name not in SOURCE_ONLY_PURE_PYTHON
        for arg in ("--only-binary", name)
    ]
    return [
        uv,
        *("pip", "install", "--target", str(target), "--no-deps"),
        *("--python-platform", UV_PLATFORM, "--python-version", PYTHON_VERSION),
        *wheels_only,
        *("-r", str(requirements)),
    ]


def requirement_names(requirements: Path) -> list[str]:
    names = []
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line.split("==", 1)[0].strip().lower())
    return names


def build(requirements: Path, build_dir: Path, *, force: bool = False) -> bool:
    """Build the layer folder; return False when an up-to-date build was already there."""
    if not force and is_up_to_date(build_dir, requirements):
        return False

    # Build next to the final folder and swap it in at the end, so an interrupted build never
    # leaves a half-filled layer behind a valid stamp.
    staging = build_dir.with_name(build_dir.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    site_dir = staging / SITE_DIR_NAME
    site_dir.mkdir(parents=True)
    subprocess.run(install_command(site_dir, requirements), check=True)  # noqa: S603
    # Console scripts point at this machine's interpreter and are useless inside a layer.
    shutil.rmtree(site_dir / "bin", ignore_errors=True)
    (staging / STAMP_NAME).write_text(json.dumps(wanted_stamp(requirements), indent=2) + "\n")

    shutil.rmtree(build_dir, ignore_errors=True)
    staging.rename(build_dir)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)

    try:
        built = build(REQUIREMENTS, BUILD_DIR, force=args.force)
    except subprocess.CalledProcessError as error:
        print(f"Building the deps layer failed (exit {error.returncode}).", file=sys.stderr)
        return error.returncode or 1
    relative = BUILD_DIR.relative_to(REPO_ROOT)
    print(f"deps layer {'built' if built else 'up to date'}: {relative}/{SITE_DIR_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
