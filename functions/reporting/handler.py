"""Shop KPIs, for the shop's backend only (its secret key, as the HTTP Basic user name):
GET /v1/kpis?from=YYYY-MM-DD&to=YYYY-MM-DD (both days included; by default the last 30
days). The figures and their definitions: docs/kpis.md."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from comeback import wiring
from comeback.adapters.kpi_source import KpiSource
from comeback.domain.intake import write_key_from_authorization
from comeback.domain.kpis import kpis_as_json
from comeback.http import ApiRequest, guarded, json_response
from comeback.observability import logger, metrics
from comeback.services import reporting
from comeback.services.intake import authenticate_backend
from comeback.settings import ReportingSettings, load


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    settings = load(ReportingSettings)
    request = ApiRequest.from_event(event)

    def answer() -> dict:
        key = write_key_from_authorization(request.headers.get("authorization"))
        shop_id = authenticate_backend(wiring.store(settings), key, "KPI")
        now = wiring.clock().now()
        period = reporting.parse_range(
            request.query.get("from"), request.query.get("to"), now.date()
        )
        logger.info(
            "kpis requested", shop_id=shop_id, first=str(period.first), last=str(period.last)
        )
        kpi_source = KpiSource(wiring.client("dynamodb"), settings.table_name)
        kpis = reporting.shop_kpis(kpi_source, shop_id, period, now)
        logger.info(
            "kpis computed",
            shop_id=shop_id,
            orders=kpis.orders,
            items_read=kpi_source.counts.items,
            scan_pages=kpi_source.counts.pages,
            unreadable_events=kpi_source.counts.unreadable_events,
        )
        metrics.add_metric(name="KpiReports", unit=MetricUnit.Count, value=1)
        return json_response(200, kpis_as_json(kpis))

    return guarded(answer)
