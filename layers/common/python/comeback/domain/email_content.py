"""The emails we send: content per message kind, every value escaped, and the MIME message with
RFC 8058 one-click unsubscribe headers."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from string import Template
from urllib.parse import quote

from comeback.domain.alerts import ALERT_KINDS, BACK_IN_STOCK, price_text, product_title
from comeback.domain.order_status import ORDER_STATUS, OrderUpdate
from comeback.domain.shown_text import shown_name
from comeback.domain.timers import BROWSE_ABANDONMENT, CART_RECOVERY, REACTIVATION
from comeback.models.catalogue import Product
from comeback.models.journey import Incentive
from comeback.models.profile import Profile
from comeback.models.shop import Shop

_PAGE = Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>$subject</title></head>
<body style="font-family:Arial,sans-serif;color:#222;max-width:560px;margin:auto">
<p>$greeting</p>
$body
<p><a href="$action_url" style="background:#1a73e8;color:#fff;padding:10px 18px;
text-decoration:none;border-radius:4px">$action_label</a></p>
<hr><p style="font-size:12px;color:#666">$shop_name$postal<br>
You get this email because you agreed to hear from $shop_name.
<a href="$unsubscribe_url">Unsubscribe</a>.</p>
</body></html>
""")


_POLICY = policy.SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class EmailContent:
    subject: str
    html: str
    text: str


def _first_name(profile: Profile) -> str | None:
    for name in ("first_name", "firstName", "name"):
        value = profile.traits.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip().split()[0][:40]
    return None


def render(
    kind: str,
    profile: Profile,
    shop: Shop,
    unsubscribe_url: str,
    *,
    product: Product | None = None,
    product_link: str | None = None,
    cart_link: str | None = None,
    step: int = 0,
    incentive: Incentive | None = None,
    track: Callable[[str], str] | None = None,
    order: OrderUpdate | None = None,
) -> EmailContent:
    """A product alert needs the `product`; `product_link` is its URL through click tracking.
    A cart reminder links to `cart_link` (our signed restore-cart page, tracked) when given;
    `step` is the journey step (a later one reads as a last reminder), with its offer.
    `track` wraps a link to the shop's site in click tracking (links given here already are).
    """
    site = shop.settings.site_url or ""
    name = _first_name(profile)
    greeting = f"Hello {name}," if name else "Hello,"
    if kind == CART_RECOVERY and profile.cart is not None:
        cart = profile.cart
        subject = (
            f"Still thinking it over? Your cart at {shop.name} is saved"
            if step >= 2 or incentive is not None
            else f"You left something in your cart at {shop.name}"
        )
        lines = [
            (shown_name(line.name) or line.product_id, line.quantity, line.price)
            for line in cart.lines.values()
        ]
        text_lines = [
            f"- {n} x{q}" + (f" ({p} {cart.currency})" if p is not None else "")
            for n, q, p in lines
        ]
        html_lines = "".join(
            f"<li>{html.escape(n)} &times;{q}"
            + (
                f" &ndash; {html.escape(str(p))} {html.escape(cart.currency)}"
                if p is not None
                else ""
            )
            + "</li>"
            for n, q, p in lines
        )
        intro = "Your cart is waiting for you:"
        body_html = (
            f"<p>{intro}</p><ul>{html_lines}</ul><p>Total: "
            f"{html.escape(str(cart.value))} {html.escape(cart.currency)}</p>"
        )
        body_text = "\n".join([intro, *text_lines, f"Total: {cart.value} {cart.currency}"])
        if incentive is not None:
            offer = incentive.description
            code = f"Use the code {incentive.code} at checkout." if incentive.code else ""
            body_html += f"<p><strong>{html.escape(offer)}</strong>" + (
                f"<br>{html.escape(code)}</p>" if code else "</p>"
            )
            body_text += "\n\n" + "\n".join(line for line in (offer, code) if line)
        action_label = "Back to your cart"
        action_url = cart_link or _tracked(track, cart.restore_url or _join(site, "/cart"))
    elif kind in ALERT_KINDS and product is not None:
        title = product_title(product)
        price = price_text(product)
        if kind == BACK_IN_STOCK:
            subject = f"Back in stock: {title}"
            intro = f"{title} is back in stock at {shop.name}."
        else:
            subject = f"Price drop: {title} now {price}"
            intro = f"{title} is now {price} at {shop.name}."
        details = f"Price: {price}" if kind == BACK_IN_STOCK and product.price is not None else ""
        image = (
            f'<p><img src="{html.escape(product.image_url, quote=True)}" alt="" width="240"></p>'
            if product.image_url
            else ""
        )
        body_html = f"<p>{html.escape(intro)}</p>{image}" + (
            f"<p>{html.escape(details)}</p>" if details else ""
        )
        body_text = "\n".join(line for line in (intro, details) if line)
        action_label = "See it now"
        action_url = product_link or product.url or site or "/"
    elif kind == BROWSE_ABANDONMENT and profile.browsing is not None:
        names = [n for n in (shown_name(p.name) for p in profile.browsing.products) if n]
        first = names[0] if names else None
        subject = (
            f"Still thinking about {first}?" if first else f"Still looking around {shop.name}?"
        )
        intro = f"You were looking at these at {shop.name}:" if names else ""
        body_html = (
            f"<p>{html.escape(intro)}</p><ul>"
            + "".join(f"<li>{html.escape(name)}</li>" for name in names)
            + "</ul>"
            if names
            else f"<p>{html.escape(f'Come back to {shop.name} and find what you were after.')}</p>"
        )
        body_text = "\n".join([intro, *(f"- {name}" for name in names)]) if names else ""
        action_label, action_url = f"Back to {shop.name}", _tracked(track, site) if site else "/"
    elif kind == ORDER_STATUS and order is not None:
        subject = order.headline()
        intro = f"{subject}." if order.status != "completed" else f"{subject} at {shop.name}."
        body_html, body_text = f"<p>{html.escape(intro)}</p>", intro
        action_label = f"Visit {shop.name}"
        action_url = _tracked(track, site) if site else "/"
    elif kind == REACTIVATION:
        subject = f"It has been a while - new arrivals at {shop.name}"
        category = profile.last_viewed_category
        intro = (
            f"We have not seen you at {shop.name} for a while. Have a look at what is new in "
            f"{category}."
            if category
            else f"We have not seen you at {shop.name} for a while. Here is what is new."
        )
        body_html, body_text = f"<p>{html.escape(intro)}</p>", intro
        action_label, action_url = f"Visit {shop.name}", _tracked(track, site) if site else "/"
    else:
        raise ValueError(f"no email for message kind {kind!r}")

    postal = shop.settings.postal_address
    page = _PAGE.substitute(
        subject=html.escape(subject),
        greeting=html.escape(greeting),
        body=body_html,
        action_url=html.escape(action_url, quote=True),
        action_label=html.escape(action_label),
        shop_name=html.escape(shop.name),
        postal=f", {html.escape(postal)}" if postal else "",
        unsubscribe_url=html.escape(unsubscribe_url, quote=True),
    )
    text = "\n\n".join(
        [
            greeting,
            body_text,
            f"{action_label}: {action_url}",
            f"{shop.name}{', ' + postal if postal else ''}",
            f"Unsubscribe: {unsubscribe_url}",
        ]
    )
    return EmailContent(subject=subject, html=page, text=text + "\n")


def _tracked(track: Callable[[str], str] | None, url: str) -> str:
    return track(url) if track else url


def _join(site: str, path: str) -> str:
    return site.rstrip("/") + path if site else path


def unsubscribe_url(public_base_url: str, token: str) -> str:
    return f"{public_base_url.rstrip('/')}/v1/unsubscribe?t={quote(token, safe='')}"


def build_mime(
    content: EmailContent,
    *,
    from_address: str,
    from_name: str | None,
    to: str,
    unsubscribe_link: str,
    now: datetime,
    message_kind: str,
) -> EmailMessage:
    """A MIME message ready for SES; non-ASCII names and subjects are encoded (RFC 2047)."""
    # Long header lines stay whole: an RFC 2047-encoded List-Unsubscribe is useless to clients.
    message = EmailMessage(policy=_POLICY)
    local, _, domain = from_address.partition("@")
    message["From"] = Address(display_name=from_name or "", username=local, domain=domain)
    to_local, _, to_domain = to.partition("@")
    message["To"] = Address(username=to_local, domain=to_domain)
    message["Subject"] = content.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=domain or None)
    # RFC 8058: mail clients offer "unsubscribe" and POST to this URL with no login.
    message["List-Unsubscribe"] = f"<{unsubscribe_link}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["X-Comeback-Kind"] = message_kind
    message.set_content(content.text)
    message.add_alternative(content.html, subtype="html")
    return message
