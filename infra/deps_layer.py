"""Where the third-party layer is built and how to tell a build is current.

Kept free of CDK imports: `scripts/build_deps_layer.py` uses it too, so the script and the
stack agree on the folder, the Lambda platform and the stamp that marks a finished build.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from infra import REPO_ROOT

REQUIREMENTS = REPO_ROOT / "layers" / "deps" / "requirements.txt"
BUILD_DIR = REPO_ROOT / "layers" / "deps" / "build"
# Lambda unpacks layers under /opt, and its Python runtimes put /opt/python on sys.path.
SITE_DIR_NAME = "python"
STAMP_NAME = ".build-stamp.json"
BUILD_COMMAND = "uv run python scripts/build_deps_layer.py"

# The Lambda platform (infra/lambdas.py deploys Python 3.13 on ARM_64); pip and uv spell the
# platform tag differently.
PYTHON_VERSION = "3.13"
PIP_PLATFORM = "manylinux2014_aarch64"
UV_PLATFORM = "aarch64-manylinux2014"
# Pure-Python packages published only as a source distribution: the one exception to
# "wheels for the Lambda platform only" (their wheel is platform-free, so building it here is
# safe). Anything compiled must come as a wheel.
SOURCE_ONLY_PURE_PYTHON = frozenset({"http-ece"})


def wanted_stamp(requirements: Path = REQUIREMENTS) -> dict[str, str]:
    """What a build made from these requirements for the Lambda platform records."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    return {"requirements_sha256": digest, "python": PYTHON_VERSION, "platform": PIP_PLATFORM}


def read_stamp(build_dir: Path = BUILD_DIR) -> dict[str, str] | None:
    """The stamp of a finished build in `build_dir`, or None when there is none."""
    stamp_file = build_dir / STAMP_NAME
    if not (build_dir / SITE_DIR_NAME).is_dir() or not stamp_file.is_file():
        return None
    try:
        stamp = json.loads(stamp_file.read_text())
    except json.JSONDecodeError:
        return None
    return stamp if isinstance(stamp, dict) else None


def is_up_to_date(build_dir: Path = BUILD_DIR, requirements: Path = REQUIREMENTS) -> bool:
    return read_stamp(build_dir) == wanted_stamp(requirements)
