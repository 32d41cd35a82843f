"""Logger and metrics, created once and shared by every handler (Powertools)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

SERVICE = "comeback"
NAMESPACE = "Comeback"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
