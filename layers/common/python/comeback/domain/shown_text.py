"""Text a browser sent us (product names, with the public write key) shown in the shop's own
messages and pages. Anyone can send it, so it is kept to what a product name needs: one
line, no links, no addresses. The shop's own messages must not carry someone else's link."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_SHOWN_NAME = 80
_LINK_LIKE = re.compile(
    r"(?i)\b(?:[a-z][a-z0-9+.\-]*://\S*|www\.\S+|[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+"
    r"|(?:[a-z0-9\-]+\.)+[a-z]{2,}(?:/\S*)?)"
)


def shown_name(name: str | None) -> str | None:
    """A product name fit to print in our messages: links, domains and email addresses taken
    out, one line, at most 80 characters; None when nothing is left."""
    if not name:
        return None
    text = " ".join(_LINK_LIKE.sub(" ", name).split())
    if len(text) > MAX_SHOWN_NAME:
        text = text[: MAX_SHOWN_NAME - 1].rstrip() + "…"
    return text or None


def on_site(url: str | None, site_url: str | None) -> str | None:
    """`url` if it is an http(s) page of the shop's own site, else None: a product link a
    browser sent us goes nowhere else."""
    if not url or not site_url:
        return None
    try:
        link, site = urlsplit(url), urlsplit(site_url)
    except ValueError:
        return None
    if link.scheme not in ("https", "http") or not link.hostname or not site.hostname:
        return None
    return url if link.hostname.lower() == site.hostname.lower() else None
