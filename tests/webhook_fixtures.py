"""Platform webhook payloads for the tests, in the shapes Shopify's REST resources and
WooCommerce's REST API v3 document. Written for these tests: every person is made up and
every address is at example.com/example.org."""

from __future__ import annotations

import json
from typing import Any

from comeback.domain.webhooks.signatures import sign

SECRET = "whsec-test-0123456789abcdef"


def shopify_customer(**overrides: Any) -> dict[str, Any]:
    customer = {
        "id": 7001001,
        "email": "ada.tester@example.com",
        "phone": "+14155550123",
        "first_name": "Ada",
        "last_name": "Tester",
        "state": "enabled",
        "created_at": "2024-01-08T08:30:00-05:00",
        "updated_at": "2024-01-08T08:55:00-05:00",
        "email_marketing_consent": {
            "state": "subscribed",
            "opt_in_level": "single_opt_in",
            "consent_updated_at": "2024-01-08T08:30:00-05:00",
        },
        "sms_marketing_consent": {
            "state": "not_subscribed",
            "opt_in_level": "single_opt_in",
            "consent_updated_at": None,
            "consent_collected_from": "OTHER",
        },
    }
    return {**customer, **overrides}


def shopify_checkout(**overrides: Any) -> dict[str, Any]:
    checkout = {
        "id": 30001,
        "token": "c1a2b3c4d5e6f708",
        "cart_token": "cart-5566",
        "email": "ada.tester@example.com",
        "phone": None,
        "buyer_accepts_marketing": False,
        "created_at": "2024-01-08T03:55:00-05:00",
        "updated_at": "2024-01-08T04:00:00-05:00",
        "completed_at": None,
        "currency": "USD",
        "presentment_currency": "USD",
        "subtotal_price": "37.50",
        "total_price": "37.50",
        "abandoned_checkout_url": (
            "https://shop.example.com/40/checkouts/c1a2b3c4d5e6f708/recover?key=k1"
        ),
        "line_items": [
            {
                "product_id": 501,
                "variant_id": 9501,
                "sku": "MUG-BLUE",
                "title": "Blue Mug",
                "variant_title": "Large",
                "price": "12.50",
                "quantity": 3,
            }
        ],
        "customer": shopify_customer(),
    }
    return {**checkout, **overrides}


def shopify_order(**overrides: Any) -> dict[str, Any]:
    order = {
        "id": 820982911946154500,
        "order_number": 1001,
        "name": "#1001",
        "email": "ada.tester@example.com",
        "phone": None,
        "checkout_token": "c1a2b3c4d5e6f708",
        "created_at": "2024-01-08T04:10:00-05:00",
        "updated_at": "2024-01-08T04:10:05-05:00",
        "processed_at": "2024-01-08T04:10:00-05:00",
        "cancelled_at": None,
        "financial_status": "paid",
        "fulfillment_status": None,
        "currency": "USD",
        "subtotal_price": "37.50",
        "total_price": "42.50",
        "line_items": [
            {
                "id": 466157049,
                "product_id": 501,
                "variant_id": 9501,
                "sku": "MUG-BLUE",
                "title": "Blue Mug",
                "name": "Blue Mug - Large",
                "price": "12.50",
                "quantity": 3,
            }
        ],
        "customer": shopify_customer(),
    }
    return {**order, **overrides}


def shopify_product(**overrides: Any) -> dict[str, Any]:
    product = {
        "id": 501,
        "title": "Blue Mug",
        "handle": "blue-mug",
        "status": "active",
        "updated_at": "2024-01-08T05:00:00-05:00",
        "image": {"id": 1, "src": "https://cdn.example.com/blue-mug.png"},
        "images": [{"id": 1, "src": "https://cdn.example.com/blue-mug.png"}],
        "variants": [
            {
                "id": 9501,
                "sku": "MUG-BLUE-L",
                "price": "12.50",
                "inventory_management": "shopify",
                "inventory_policy": "deny",
                "inventory_quantity": 4,
            },
            {
                "id": 9502,
                "sku": "MUG-BLUE-S",
                "price": "9.90",
                "inventory_management": "shopify",
                "inventory_policy": "deny",
                "inventory_quantity": 0,
            },
        ],
    }
    return {**product, **overrides}


def woo_order(**overrides: Any) -> dict[str, Any]:
    order = {
        "id": 727,
        "parent_id": 0,
        "status": "processing",
        "currency": "EUR",
        "date_created": "2024-01-08T10:00:00",
        "date_created_gmt": "2024-01-08T09:00:00",
        "date_modified": "2024-01-08T10:01:00",
        "date_modified_gmt": "2024-01-08T09:01:00",
        "date_paid_gmt": "2024-01-08T09:00:30",
        "total": "29.35",
        "customer_id": 26,
        "billing": {
            "first_name": "Grace",
            "last_name": "Sample",
            "email": "grace.sample@example.org",
            "phone": "+49 30 901820",
        },
        "payment_url": "https://woo.example.org/checkout/order-pay/727/?pay_for_order=true&key=k",
        "line_items": [
            {
                "id": 315,
                "name": "Woo Single #1",
                "product_id": 93,
                "variation_id": 0,
                "quantity": 2,
                "subtotal": "6.00",
                "total": "6.00",
                "sku": "",
                "price": 3,
            },
            {
                "id": 316,
                "name": "Ship Your Idea - Color: Black",
                "product_id": 22,
                "variation_id": 23,
                "quantity": 1,
                "subtotal": "20.00",
                "total": "20.00",
                "sku": "SYI-BLK",
                "price": 20,
            },
        ],
    }
    return {**order, **overrides}


def woo_customer(**overrides: Any) -> dict[str, Any]:
    customer = {
        "id": 26,
        "date_created_gmt": "2024-01-08T08:00:00",
        "date_modified_gmt": "2024-01-08T08:05:00",
        "email": "grace.sample@example.org",
        "first_name": "Grace",
        "last_name": "Sample",
        "role": "customer",
        "username": "grace.sample",
        "billing": {"email": "grace.sample@example.org", "phone": "+49 30 901820"},
    }
    return {**customer, **overrides}


def woo_product(**overrides: Any) -> dict[str, Any]:
    product = {
        "id": 93,
        "name": "Woo Single #1",
        "slug": "woo-single-1",
        "permalink": "https://woo.example.org/product/woo-single-1/",
        "date_modified_gmt": "2024-01-08T09:30:00",
        "status": "publish",
        "sku": "",
        "price": "3",
        "regular_price": "3",
        "sale_price": "",
        "manage_stock": True,
        "stock_quantity": 12,
        "stock_status": "instock",
        "images": [{"id": 1, "src": "https://woo.example.org/wp-content/uploads/single-1.jpg"}],
    }
    return {**product, **overrides}


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def shopify_headers(
    body: bytes, topic: str, webhook_id: str, secret: str = SECRET
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(body, secret),
        "X-Shopify-Shop-Domain": "test-shop.myshopify.com",
        "X-Shopify-API-Version": "2024-01",
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Event-Id": f"event-{webhook_id}",
        "X-Shopify-Triggered-At": "2024-01-08T09:00:00.000000000Z",
    }


def woo_headers(body: bytes, topic: str, delivery_id: str, secret: str = SECRET) -> dict[str, str]:
    resource, event = topic.split(".")
    return {
        "Content-Type": "application/json",
        "User-Agent": "WooCommerce/8.5.0 Hookshot (WordPress/6.4.2)",
        "X-WC-Webhook-Source": "https://woo.example.org/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": sign(body, secret),
        "X-WC-Webhook-ID": "12",
        "X-WC-Webhook-Delivery-ID": delivery_id,
    }
