"""Normalising contact details before they are used as identifiers or addresses."""

from __future__ import annotations

import re

from comeback.errors import InvalidInput

_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
MAX_EMAIL_LENGTH = 254


def normalise_email(raw: object) -> str:
    """Trimmed, lower-cased, with an internationalised domain in its ASCII (punycode) form.

    A non-ASCII local part is refused: few mail systems accept SMTPUTF8 and SES does not.
    """
    if not isinstance(raw, str):
        raise InvalidInput("email must be a string")
    text = raw.strip()
    local, sep, domain = text.rpartition("@")
    if not sep or not local or not domain:
        raise InvalidInput("email is not an address of the form name@domain")
    if not local.isascii():
        raise InvalidInput("email addresses with non-ASCII characters before the @ are refused")
    if not _LOCAL_PART.match(local) or local.startswith(".") or ".." in local:
        raise InvalidInput("email has characters that are not allowed before the @")
    try:
        ascii_domain = domain.strip(".").encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise InvalidInput("email domain is not a valid domain name") from exc
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise InvalidInput("email domain is not a valid domain name")
    address = f"{local.lower()}@{ascii_domain}"
    if len(address) > MAX_EMAIL_LENGTH:
        raise InvalidInput("email is longer than 254 characters")
    return address
