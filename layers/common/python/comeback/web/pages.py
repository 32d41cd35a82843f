"""Small HTML pages shown to people who follow links in our messages. Every value escaped."""

from __future__ import annotations

import html
from decimal import Decimal

from comeback.domain.shown_text import on_site, shown_name
from comeback.models.profile import Cart, CartLine

_FRAME = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:Arial,sans-serif;max-width:480px;margin:3em auto;padding:0 1em}}
button{{font-size:1em;padding:.6em 1.2em}}
table{{border-collapse:collapse;width:100%}}td{{padding:.4em;border-bottom:1px solid #ddd}}
.num{{text-align:right}}.button{{display:inline-block;margin-top:1em;padding:.6em 1.2em;
background:#222;color:#fff;text-decoration:none}}</style></head><body>
<h1>{title}</h1>{body}</body></html>"""


def _page(title: str, body: str) -> str:
    return _FRAME.format(title=html.escape(title), body=body)


def confirm_unsubscribe(token: str) -> str:
    return _page(
        "Unsubscribe",
        (
            "<p>Do you want to stop receiving these emails?</p>"
            '<form method="post" action="">'
            f'<input type="hidden" name="t" value="{html.escape(token, quote=True)}">'
            '<button type="submit">Unsubscribe</button></form>'
        ),
    )


def unsubscribed() -> str:
    return _page("You are unsubscribed", "<p>You will not get these emails any more.</p>")


def problem(message: str) -> str:
    return _page("Sorry", f"<p>{html.escape(message)}</p>")


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def _web_link(url: str | None) -> str | None:
    """A link we may put in an href or src: http(s) only. Product links and pictures come from
    tracking calls anyone can send with the public write key, so `javascript:` and the like
    are shown as no link at all."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None


def _money(amount: Decimal | None, currency: str) -> str:
    return "" if amount is None else f"{amount:.2f} {currency}"


def _shop_link(site_url: str | None, text: str) -> str:
    link = _web_link(site_url)
    if link is None:
        return ""
    return f'<p><a href="{_attr(link)}" rel="noreferrer">{html.escape(text)}</a></p>'


def _cart_row(line: CartLine, currency: str, site_url: str | None) -> str:
    name = html.escape(shown_name(line.name) or line.product_id)
    link = on_site(line.url, site_url)
    if link is not None:
        name = f'<a href="{_attr(link)}" rel="noreferrer">{name}</a>'
    image = line.image_url or ""
    # https pictures only: the page's policy loads nothing else (no mixed content either).
    picture = (
        f'<img src="{_attr(image)}" alt="" width="64">'
        if image.lower().startswith("https://")
        else ""
    )
    return (
        f"<tr><td>{picture}</td><td>{name}</td>"
        f'<td class="num">{line.quantity} &times;</td>'
        f'<td class="num">{html.escape(_money(line.price, currency))}</td></tr>'
    )


def cart_page(
    shop_name: str, cart: Cart, checkout_url: str | None, site_url: str | None = None
) -> str:
    """The person's cart as the shop last heard of it, and the way on to the checkout (none
    when the shop gave us no address to send them to). Product names are shown without any
    link or address in them, and link only to pages of the shop's own site."""
    currency = cart.currency
    rows = "".join(_cart_row(line, currency, site_url) for line in cart.lines.values())
    total = html.escape(_money(cart.value, currency))
    link = _web_link(checkout_url)
    button = (
        f'<p><a class="button" href="{_attr(link)}" rel="noreferrer">Continue to checkout</a></p>'
        if link
        else ""
    )
    return _page(
        f"Your cart at {shop_name}",
        f'<table>{rows}</table><p class="num"><strong>Total: {total}</strong></p>{button}',
    )


def cart_gone(shop_name: str, site_url: str | None) -> str:
    return _page(
        "This cart is no longer open",
        "<p>This cart has already been checked out or emptied.</p>"
        + _shop_link(site_url, f"Visit {shop_name}"),
    )


def cart_not_found() -> str:
    """Says nothing of whose cart or which shop: the person may have been erased since."""
    return _page("Cart not found", "<p>There is no cart to show for this link.</p>")


def link_invalid() -> str:
    return _page(
        "This link is not valid",
        "<p>This link is not complete or was changed. Please use the link from your message "
        "as it is.</p>",
    )


def link_expired(site_url: str | None) -> str:
    return _page(
        "This link has expired",
        "<p>Links to a saved cart only work for a while.</p>"
        + _shop_link(site_url, "Visit the shop"),
    )
