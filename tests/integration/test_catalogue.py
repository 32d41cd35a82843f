"""The product catalogue on moto's DynamoDB: newer states replace older ones, never the
reverse, and saving what is already there changes nothing."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from comeback.adapters.catalogue import Catalogue
from comeback.models.catalogue import Product

T0 = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)


def product(at, **fields):
    values = {
        "product_id": "501",
        "title": "Blue Mug",
        "url": "https://shop.example.com/products/blue-mug",
        "price": Decimal("12.50"),
        "currency": "USD",
        "in_stock": True,
        "inventory": 4,
        "source": "shopify",
        **fields,
    }
    return Product(updated_at=at, **values)


def test_products_are_kept_newest_first_and_per_shop(stack):
    catalogue = Catalogue(stack.aws.client("dynamodb"), stack.aws.table_name)
    # Given a product
    assert catalogue.save_product("cat-a", product(T0)) is True
    # When the same state arrives again, or an older one late: nothing changes
    assert catalogue.save_product("cat-a", product(T0)) is False
    older = product(T0 - timedelta(minutes=5), price=Decimal("15.00"))
    assert catalogue.save_product("cat-a", older) is False
    assert catalogue.get_product("cat-a", "501").price == Decimal("12.50")
    # A newer report with the same content moves the time on but reports no change
    assert catalogue.save_product("cat-a", product(T0 + timedelta(minutes=1))) is False
    stored = catalogue.get_product("cat-a", "501")
    assert stored.updated_at == T0 + timedelta(minutes=1)
    # A newer state with a change is saved, and a field it no longer has is removed
    sold_out = product(T0 + timedelta(minutes=2), in_stock=False, inventory=0, url=None)
    assert catalogue.save_product("cat-a", sold_out) is True
    stored = catalogue.get_product("cat-a", "501")
    assert (stored.in_stock, stored.inventory, stored.url) == (False, 0, None)
    assert stored == sold_out
    # Another shop's catalogue is another item
    assert catalogue.get_product("cat-b", "501") is None
