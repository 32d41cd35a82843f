"""The real CDK CLI synthesizes the app from cdk.json with no network at all."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from infra_support import FUNCTION_NAMES, TEST_SENDER_DOMAIN

from infra import REPO_ROOT
from infra.lambdas import HANDLER_FILE

CLI = REPO_ROOT / "node_modules" / ".bin" / "cdk"
STACK_TEMPLATE = "Comeback.template.json"
SYNTH_TIMEOUT_SECONDS = 300


def _network_namespace_unavailable() -> str | None:
    """Why the synth cannot run in an empty network namespace here, or None if it can."""
    if shutil.which("unshare") is None:
        return "unshare is not installed"
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"unshare -n is not permitted here: {probe.stderr.strip()}"
    return None


@pytest.mark.slow
def test_cdk_cli_synthesizes_offline(deps_layer_dir: Path, tmp_path: Path) -> None:
    if reason := _network_namespace_unavailable():
        pytest.skip(reason)
    if not CLI.exists():
        pytest.skip("the CDK CLI is not installed: run `npm ci`")
    missing = [
        name
        for name in FUNCTION_NAMES
        if not (REPO_ROOT / "functions" / name / HANDLER_FILE).is_file()
    ]
    if missing:
        pytest.skip(f"function handlers not written yet: {missing}")
    # Given the CLI pinned in package.json, cut off from every network
    out_dir = tmp_path / "cdk.out"
    command = [
        *("unshare", "-n", "npx", "--no-install", "cdk", "synth", "--no-notices", "-q"),
        *("-c", f"senderDomain={TEST_SENDER_DOMAIN}", "--output", str(out_dir)),
    ]
    environment = {
        **os.environ,
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    # When it synthesizes the app as cdk.json says
    result = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=SYNTH_TIMEOUT_SECONDS,
    )
    # Then it succeeds (cdk-nag included) and writes the template where it was told
    assert result.returncode == 0, result.stderr[-4000:]
    assert (out_dir / STACK_TEMPLATE).is_file()
