"""The Lambda functions' shared shape: code folders, the two layers, runtime and environment.

Every function is its own small asset (`functions/<name>/`, handler `handler.handler`) on top of
two layers: "common" (the `comeback` package as it sits in `layers/common`) and "deps" (the
pinned third-party packages built by `scripts/build_deps_layer.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from comeback.settings import ENV_PREFIX
from constructs import Construct
from pydantic_settings import BaseSettings

from infra import REPO_ROOT
from infra.deps_layer import BUILD_COMMAND, BUILD_DIR, PYTHON_VERSION, SITE_DIR_NAME, is_up_to_date
from infra.nag import acknowledge

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
HANDLER = "handler.handler"
HANDLER_FILE = "handler.py"

# More memory also buys CPU: imports (Powertools, pydantic) dominate a cold start here.
DEFAULT_MEMORY_MB = 512
LOG_RETENTION = logs.RetentionDays.ONE_MONTH

POWERTOOLS_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "comeback",
    "POWERTOOLS_METRICS_NAMESPACE": "Comeback",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}

# Local-only parts of the shared package (the CLI, what only it uses, and the local runner)
# stay out of the layer.
COMMON_LAYER_EXCLUDES = (
    "python/comeback/local",
    "python/comeback/local/**",
    "python/comeback/cli.py",
    "python/comeback/adapters/dns_lookup.py",  # `comeback doctor` (dnspython, not in the layer)
    "**/__pycache__",
    "**/*.pyc",
)
FUNCTION_EXCLUDES = ("**/__pycache__", "**/*.pyc")


class MissingSourceError(RuntimeError):
    """A folder the stack packages as Lambda code is missing or incomplete."""


@dataclass(frozen=True)
class SourcePaths:
    """Where the Lambda code comes from (tests point these at a scratch copy)."""

    functions_dir: Path = REPO_ROOT / "functions"
    common_layer_dir: Path = REPO_ROOT / "layers" / "common"
    deps_layer_dir: Path = BUILD_DIR


def settings_environment(settings: type[BaseSettings], **values: str) -> dict[str, str]:
    """Environment variables for one function's settings model, named as the model reads them.

    Fails at synth when a value has no field in the model, or a required field gets no value,
    so a renamed or added setting breaks the build rather than the cold start.
    """
    fields = settings.model_fields
    unknown = sorted(set(values) - set(fields))
    missing = sorted(
        name for name, info in fields.items() if info.is_required() and name not in values
    )
    problems = [f"no such setting {unknown}"] if unknown else []
    problems += [f"no value for required setting {missing}"] if missing else []
    if problems:
        raise ValueError(f"{settings.__name__}: {'; '.join(problems)}")
    return {f"{ENV_PREFIX}{name.upper()}": value for name, value in values.items()}


@dataclass(frozen=True)
class FunctionDefaults:
    """What every function shares: where its code folder lives and its layers."""

    functions_dir: Path
    layers: tuple[lambda_.ILayerVersion, ...]


class SharedLayers(Construct):
    """The "common" (our package) and "deps" (third-party) layers every function uses."""

    def __init__(self, scope: Construct, construct_id: str, *, sources: SourcePaths) -> None:
        super().__init__(scope, construct_id)
        if not (sources.common_layer_dir / SITE_DIR_NAME / "comeback").is_dir():
            raise MissingSourceError(
                f"{sources.common_layer_dir} has no {SITE_DIR_NAME}/comeback package."
            )
        deps_site = sources.deps_layer_dir / SITE_DIR_NAME
        if not deps_site.is_dir():
            raise MissingSourceError(
                f"The deps layer is not built ({deps_site} is missing): run `{BUILD_COMMAND}`."
            )
        if sources.deps_layer_dir == BUILD_DIR and not is_up_to_date():
            raise MissingSourceError(
                f"The deps layer in {BUILD_DIR} is older than layers/deps/requirements.txt: "
                f"run `{BUILD_COMMAND}`."
            )

        self.common = lambda_.LayerVersion(
            self,
            "Common",
            code=lambda_.Code.from_asset(
                str(sources.common_layer_dir), exclude=list(COMMON_LAYER_EXCLUDES)
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Comeback shared package: models, domain, adapters, settings",
        )
        self.deps = lambda_.LayerVersion(
            self,
            "Deps",
            code=lambda_.Code.from_asset(str(sources.deps_layer_dir), exclude=[".*"]),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=f"Third-party packages for Python {PYTHON_VERSION} on arm64",
        )

    @property
    def all(self) -> tuple[lambda_.ILayerVersion, ...]:
        return (self.common, self.deps)


class ComebackFunction(Construct):
    """One Lambda function from `functions/<name>/`, with its own log group and role.

    The role gets no AWS managed policy: it may write to its own log group only, and each
    construct that uses the function grants it what it needs on top.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        defaults: FunctionDefaults,
        description: str,
        timeout: Duration,
        environment: Mapping[str, str],
        memory_size: int = DEFAULT_MEMORY_MB,
        retry_attempts: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        code_dir = defaults.functions_dir / name
        if not (code_dir / HANDLER_FILE).is_file():
            raise MissingSourceError(f"{code_dir / HANDLER_FILE} is missing.")

        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=LOG_RETENTION,
            # The logs expire within a month anyway; keeping them past the stack helps nobody.
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Comeback {name} function",
        )
        self.log_group.grant_write(self.role)

        self.function = lambda_.Function(
            self,
            "Function",
            code=lambda_.Code.from_asset(str(code_dir), exclude=list(FUNCTION_EXCLUDES)),
            handler=HANDLER,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            layers=list(defaults.layers),
            role=self.role,
            log_group=self.log_group,
            description=description,
            timeout=timeout,
            memory_size=memory_size,
            retry_attempts=retry_attempts,
            environment={**POWERTOOLS_ENVIRONMENT, **environment},
        )
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            f"Python {PYTHON_VERSION} is chosen on purpose and still supported by Lambda: the "
            "deps layer holds compiled wheels built for exactly this version (pydantic-core), "
            "so moving to a newer runtime means changing RUNTIME and deps_layer.PYTHON_VERSION "
            "together and rebuilding the layer.",
        )
