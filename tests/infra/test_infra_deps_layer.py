"""The third-party layer: pinned like uv.lock, rebuilt only when its list changes, complete."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest

from infra import REPO_ROOT
from infra.deps_layer import (
    REQUIREMENTS,
    SITE_DIR_NAME,
    is_up_to_date,
    read_stamp,
    wanted_stamp,
)

# What the Lambda Python runtime already has, so the layer need not ship it.
RUNTIME_PROVIDED = {"boto3", "botocore"}
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;#]+)")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(requirements: Path) -> dict[str, str]:
    pins = {}
    for line in requirements.read_text().splitlines():
        if match := PIN.match(line.strip()):
            pins[_normalise(match[1])] = match[2]
    return pins


def _locked_versions() -> dict[str, str]:
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text())
    return {_normalise(package["name"]): package["version"] for package in lock["package"]}


def test_every_pin_matches_uv_lock() -> None:
    # Given the versions the tests run with
    locked = _locked_versions()
    # Then the layer pins exactly those
    pins = _pins(REQUIREMENTS)
    assert pins, "no pinned requirement found"
    assert {name: locked.get(name) for name in pins} == pins


def test_every_runtime_dependency_beyond_boto3_is_in_the_layer() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    needed = {
        _normalise(re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0])
        for requirement in project["dependencies"]
    }
    assert needed - RUNTIME_PROVIDED - set(_pins(REQUIREMENTS)) == set()


def test_a_changed_requirements_list_makes_the_build_stale(
    tmp_path: Path, deps_layer_dir: Path
) -> None:
    # Given the built layer, which is current for the real list
    assert is_up_to_date(deps_layer_dir, REQUIREMENTS)
    # When the list changes
    changed = tmp_path / "requirements.txt"
    changed.write_text(REQUIREMENTS.read_text() + "six==1.17.0\n")
    # Then the build no longer matches it
    assert read_stamp(deps_layer_dir) != wanted_stamp(changed)
    assert not is_up_to_date(deps_layer_dir, changed)


class _Imports(ast.NodeVisitor):
    """Top-level modules imported at run time (imports only for type checkers are skipped)."""

    def __init__(self) -> None:
        self.modules: set[str] = set()

    def visit_If(self, node: ast.If) -> None:
        if "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.modules.update(alias.name.split(".")[0] for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module and node.module != "__future__":
            self.modules.add(node.module.split(".")[0])


def _lambda_code_files() -> list[Path]:
    """The handlers and the shared package as the common layer ships it (no CLI, no runner)."""
    package = REPO_ROOT / "layers" / "common" / "python" / "comeback"
    local_only = {"local", "cli.py"}
    cli_only = {Path("adapters/dns_lookup.py")}
    layer_files = [
        path
        for path in package.rglob("*.py")
        if path.relative_to(package).parts[0] not in local_only
        and path.relative_to(package) not in cli_only
    ]
    return layer_files + sorted((REPO_ROOT / "functions").glob("*/*.py"))


def test_lambda_code_imports_only_what_the_runtime_and_layers_provide(
    deps_layer_dir: Path,
) -> None:
    # Given every module deployed as Lambda code (handlers and the common layer)
    files = _lambda_code_files()
    if not files:
        pytest.skip("no Lambda code yet")
    visitor = _Imports()
    for path in files:
        visitor.visit(ast.parse(path.read_text(), filename=str(path)))
    # Then each import is the standard library, the runtime's boto3, our package or the layer
    site = deps_layer_dir / SITE_DIR_NAME
    handler_modules = {path.stem for path in (REPO_ROOT / "functions").glob("*/*.py")}
    provided = set(sys.stdlib_module_names) | RUNTIME_PROVIDED | {"comeback"} | handler_modules
    unresolved = {
        module
        for module in visitor.modules - provided
        if not ((site / module).is_dir() or (site / f"{module}.py").is_file())
    }
    assert unresolved == set()
