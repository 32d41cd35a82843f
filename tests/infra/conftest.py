"""Fixtures shared by the infrastructure tests: the built deps layer and scratch sources."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from infra_support import FUNCTION_NAMES, PLACEHOLDER_HANDLER

from infra import REPO_ROOT
from infra.deps_layer import BUILD_DIR
from infra.lambdas import HANDLER_FILE, SourcePaths


@pytest.fixture(scope="session")
def deps_layer_dir() -> Path:
    """The real deps layer, built (or found up to date) by the project's script."""
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "build_deps_layer.py")],
        check=True,
        capture_output=True,
    )
    return BUILD_DIR


@pytest.fixture(scope="session")
def sources(tmp_path_factory: pytest.TempPathFactory, deps_layer_dir: Path) -> SourcePaths:
    """A scratch copy of the Lambda code, so tests run before every handler exists.

    Missing handlers get a placeholder, and the common layer gets the local-only files the
    asset must leave out, whether or not the real package has them yet.
    """
    root = tmp_path_factory.mktemp("sources")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    functions_dir = root / "functions"
    for name in FUNCTION_NAMES:
        real = REPO_ROOT / "functions" / name
        if (real / HANDLER_FILE).is_file():
            shutil.copytree(real, functions_dir / name, ignore=ignore)
        else:
            (functions_dir / name).mkdir(parents=True)
            (functions_dir / name / HANDLER_FILE).write_text(PLACEHOLDER_HANDLER)

    common_dir = root / "common"
    shutil.copytree(REPO_ROOT / "layers" / "common", common_dir, ignore=ignore)
    package = common_dir / "python" / "comeback"
    (package / "local").mkdir(exist_ok=True)
    (package / "local" / "__init__.py").touch()
    (package / "cli.py").touch()
    (package / "__pycache__").mkdir(exist_ok=True)
    (package / "__pycache__" / "schema.cpython-311.pyc").write_bytes(b"stale")

    return SourcePaths(
        functions_dir=functions_dir, common_layer_dir=common_dir, deps_layer_dir=deps_layer_dir
    )
