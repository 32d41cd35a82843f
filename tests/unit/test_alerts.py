"""Which product changes are worth an alert, whether an alert still holds when it is sent, and
what it says."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from comeback.domain.alerts import (
    ASKED,
    BACK_IN_STOCK,
    PRICE_DROP,
    VIEWED,
    alert_for,
    alert_subject,
    parse_subject,
    still_holds,
    watch_for,
)
from comeback.domain.email_content import render
from comeback.domain.sending import Rearm, Send, Skip, decide
from comeback.domain.short_content import short_content
from comeback.models.catalogue import Product
from comeback.models.jobs import MessageJob
from comeback.models.profile import ConsentDecision, Profile
from comeback.models.shop import Shop, ShopSettings

T0 = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)


def product(at=T0, **fields):
    values = {
        "product_id": "p|1",
        "title": "Blue Mug",
        "url": "https://shop.example.com/products/blue-mug",
        "price": Decimal("20.00"),
        "currency": "USD",
        "in_stock": True,
        "inventory": 4,
        "source": "api",
        **fields,
    }
    return Product(updated_at=at, **values)


LATER = T0 + timedelta(hours=1)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        # no change at all, or only a newer time
        (product(), product(), None),
        (product(), product(LATER), None),
        # other fields only
        (product(), product(LATER, title="Big Blue Mug", inventory=9), None),
        # the price goes up, or down in another currency
        (product(), product(LATER, price=Decimal("25.00")), None),
        (product(), product(LATER, price=Decimal("15.00"), currency="EUR"), None),
        # a drop below the minimum (1%), and one at it
        (product(), product(LATER, price=Decimal("19.90")), None),
        (product(), product(LATER, price=Decimal("19.80")), PRICE_DROP),
        (product(), product(LATER, price=Decimal("15.00")), PRICE_DROP),
        # a drop on a sold-out product is worth nothing
        (
            product(in_stock=False, inventory=0),
            product(LATER, price=Decimal("15.00"), in_stock=False, inventory=0),
            None,
        ),
        # back in stock (by flag or by units), and back in stock cheaper: one alert
        (product(in_stock=False), product(LATER), BACK_IN_STOCK),
        (product(in_stock=None, inventory=0), product(LATER, in_stock=None), BACK_IN_STOCK),
        (product(in_stock=False), product(LATER, price=Decimal("10")), BACK_IN_STOCK),
        # sold out is not an alert; a first sighting neither
        (product(), product(LATER, in_stock=False, inventory=0), None),
        (None, product(), None),
    ],
)
def test_changes_worth_an_alert(before, after, expected):
    assert alert_for(before, after) == expected


def test_the_minimum_drop_is_the_shops():
    assert alert_for(product(), product(LATER, price=Decimal("19.90")), min_drop_percent=0) == (
        PRICE_DROP
    )
    assert alert_for(product(), product(LATER, price=Decimal("15")), min_drop_percent=30) is None


def test_a_subject_names_the_change_and_gives_the_product_back():
    new = product(LATER, price=Decimal("15.00"))
    subject = alert_subject(PRICE_DROP, new)
    assert parse_subject(subject)[1] == "p|1"  # ids may hold the separator
    assert alert_subject(PRICE_DROP, product(LATER + timedelta(seconds=1))) != subject
    # It still holds while the price is the one announced, even re-saved later
    assert still_holds(PRICE_DROP, new, subject) is None
    assert (
        still_holds(PRICE_DROP, product(LATER + timedelta(hours=1), price=new.price), subject)
        is None
    )
    assert still_holds(PRICE_DROP, product(price=Decimal("21")), subject) == "price_changed"
    assert still_holds(PRICE_DROP, product(price=Decimal("15"), in_stock=False), subject) == (
        "out_of_stock"
    )
    assert still_holds(BACK_IN_STOCK, None, subject) == "product_gone"


def test_asking_watches_longer_than_viewing():
    assert watch_for(VIEWED, T0, 30).expires_at == T0 + timedelta(days=30)
    assert watch_for(ASKED, T0, 30).expires_at == T0 + timedelta(days=180)


def _profile():
    return Profile(
        shop_id="s",
        profile_id="p",
        created_at=T0,
        updated_at=T0,
        email="ann@example.com",
        consent={"email": ConsentDecision(granted=True, at=T0, source="test")},
    )


def _job(kind, subject):
    return MessageJob(
        shop_id="s", profile_id="p", kind=kind, subject=subject, job_key="k", claimed_at=T0
    )


def test_the_sender_decides_on_the_product_as_it_is_now():
    new = product(LATER, price=Decimal("15.00"))
    job = _job(PRICE_DROP, alert_subject(PRICE_DROP, new))
    settings = ShopSettings()
    assert decide(_profile(), job, settings, LATER, product=new) == Send(("email",))
    risen = product(LATER + timedelta(hours=1), price=Decimal("18.00"))
    assert decide(_profile(), job, settings, LATER, product=risen) == Skip("price_changed")
    # Quiet hours hold it back as any marketing message
    night = LATER.replace(hour=23)
    assert isinstance(decide(_profile(), job, settings, night, product=new), Rearm)


def test_alert_content_is_escaped_and_names_the_product():
    shop = Shop(shop_id="s", name="Shop", created_at=T0, settings=ShopSettings())
    hostile = product(LATER, title="<b>Mug</b>\nBcc: x", price=Decimal("15.00"))
    mail = render(
        PRICE_DROP, _profile(), shop, "https://u", product=hostile, product_link="https://t"
    )
    assert mail.subject == "Price drop: <b>Mug</b> Bcc: x now 15.00 USD"
    assert "<b>Mug</b>" not in mail.html and "&lt;b&gt;Mug&lt;/b&gt;" in mail.html
    assert 'href="https://t"' in mail.html
    back = short_content(BACK_IN_STOCK, _profile(), shop, product=hostile)
    assert back.body == "<b>Mug</b> Bcc: x is back in stock."
    assert back.url == hostile.url
