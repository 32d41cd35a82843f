"""A shop's key figures over a date range: read the records, compute, answer.

Used by the reporting API (`GET /v1/kpis`, the shop's secret key only) and by
`comeback report`, which renders the same figures as a self-contained HTML page.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Protocol

from comeback.domain.kpis import DateRange, ShopKpis, ShopRecords, compute_kpis
from comeback.domain.timers import CART_RECOVERY
from comeback.errors import InvalidInput, NotFound
from comeback.models.shop import Shop

DEFAULT_RANGE_DAYS = 30
# When a cart counts as abandoned for a shop that runs no cart journey.
DEFAULT_ABANDON_MINUTES = 60
# Ten years of days: more than raw events are kept, enough for any cohort table.
MAX_RANGE_DAYS = 3_660


class KpiReader(Protocol):
    """What this service needs of `comeback.adapters.kpi_source.KpiSource`."""

    def shop(self, shop_id: str) -> Shop | None: ...

    def records(self, shop_id: str) -> ShopRecords: ...


def _day(text: str | None, name: str) -> date | None:
    if not text:
        return None
    if len(text) != len("YYYY-MM-DD"):
        raise InvalidInput(f"`{name}` must be a date, YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"`{name}` must be a date, YYYY-MM-DD") from None


def parse_range(first: str | None, last: str | None, today: date) -> DateRange:
    """`from` and `to` (YYYY-MM-DD, both included). Neither: the 30 days up to today; only
    `from`: 30 days from it; only `to`: the 30 days up to it."""
    start, end = _day(first, "from"), _day(last, "to")
    if end is None:
        end = today if start is None else start + timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if start is None:
        start = end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if end < start:
        raise InvalidInput("`to` is before `from`")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput(f"a range is at most {MAX_RANGE_DAYS} days")
    return DateRange(start, end)


def shop_kpis(source: KpiReader, shop_id: str, period: DateRange, now: datetime) -> ShopKpis:
    """The shop's figures for the range, as of `now` (carts whose abandonment delay has not
    passed by then are still open). A cart counts as abandoned when the first step of the
    shop's cart journey falls due."""
    shop = source.shop(shop_id)
    if shop is None:
        raise NotFound("no such shop")
    journey = shop.settings.journeys.get(CART_RECOVERY)
    first_step = journey.steps[0].delay_minutes if journey else DEFAULT_ABANDON_MINUTES
    abandon_after = timedelta(minutes=first_step)
    return compute_kpis(source.records(shop_id), period, as_of=now, abandon_after=abandon_after)
