"""Normalising phone numbers to E.164, the one form SNS accepts and we key profiles by.

People type numbers the way their country writes them: with a trunk "0" for national calls,
"00" instead of "+", or the British/German habit of "+49 (0)30 …" that shows both at once.
`phonenumbers` (Google's libphonenumber metadata) knows each country's rules; the little we
add here covers the forms it leaves invalid, and only ever as a second attempt, so a number
it already reads correctly is never rewritten by our guesses.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, ValidationResult

from comeback.errors import InvalidInput

MAX_PHONE_INPUT_LENGTH = 40
"""Longer than any written phone number with punctuation; refused before parsing anything."""

# "+57 (0)321 …" or "0057 (0) 321 …": a bracketed trunk zero straight after the country code.
# libphonenumber strips it for most countries but not all (Colombia, for one), so it is
# retried without the "(0)" when the number as written is not valid.
_TRUNK_ZERO_AFTER_CC = re.compile(r"^(?P<cc>(?:\+|00)\s*(?P<digits>\d{1,3}))\s*\(\s*0\s*\)")
_INTERNATIONAL_00 = re.compile(r"^00\s*(?=[1-9])")
_NO_REGION = "ZZ"
_TEL_SCHEME = "tel:"


class InvalidPhoneNumber(InvalidInput, ValueError):
    """A phone number we refuse. It is an InvalidInput, so the HTTP layer answers 400 with the
    message, and a ValueError, so plain callers (a CLI, a pydantic validator) can catch it.
    Messages never repeat the number: they may end up in logs."""


def normalise_phone(raw: str, default_region: str | None) -> str:
    """The number in E.164 (`+493012345678`), or InvalidPhoneNumber saying why not.

    `default_region` (ISO 3166 alpha-2, e.g. the shop's country) is how a national number
    such as `030 12345678` is read; without it only international forms are accepted.
    Numbers with an extension are refused: an SMS cannot reach one. So are numbers with
    letters: libphonenumber reads "1-800-FLOWERS" (and a letter O for a zero) as digits and
    drops text it does not understand, so a typo could become someone else's valid number.
    """
    if not isinstance(raw, str):
        raise InvalidPhoneNumber("phone must be a string")
    text = raw.strip()
    if not text:
        raise InvalidPhoneNumber("phone is empty")
    if len(text) > MAX_PHONE_INPUT_LENGTH:
        raise InvalidPhoneNumber(f"phone is longer than {MAX_PHONE_INPUT_LENGTH} characters")
    region = _region(default_region)
    has_letters = _has_letters(text)

    failure = "phone is not a phone number"
    for candidate in _spellings(text, region):
        try:
            number = phonenumbers.parse(candidate, region)
        except NumberParseException as exc:
            failure = _parse_failure(exc, candidate, failure)
            continue
        if number.extension:
            raise InvalidPhoneNumber("phone has an extension; text messages cannot reach one")
        if has_letters:  # only an extension marker earns a message of its own
            break
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        failure = _invalid_failure(number)
    if has_letters:
        raise InvalidPhoneNumber("phone is not a phone number: write it in digits, no letters")
    raise InvalidPhoneNumber(failure)


def phone_region(e164: str) -> str | None:
    """The ISO country (`DE`, `GB`) an E.164 number belongs to, or None when it is not E.164
    or belongs to no single country (the +800 freephone range, satellite services)."""
    if not isinstance(e164, str) or not e164.startswith("+"):
        return None
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    if region is None or region == _NO_REGION or not region.isalpha():
        return None
    return region


def _region(default_region: str | None) -> str | None:
    """A bad region is the operator's configuration, not the customer's input: plain
    ValueError, so it is not reported to the client as their mistake."""
    if default_region is None or default_region == "":
        return None
    region = default_region.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown default phone region {default_region!r}")
    return region


def _has_letters(text: str) -> bool:
    """Whether any letter, in any script, is written outside a leading `tel:` (RFC 3966)."""
    if text[: len(_TEL_SCHEME)].lower() == _TEL_SCHEME:
        text = text[len(_TEL_SCHEME) :]
    return any(ch.isalpha() for ch in text)


def _spellings(text: str, region: str | None) -> list[str]:
    """The text as written first; then the repairs for forms libphonenumber leaves invalid.

    "00" is the international prefix almost everywhere; phonenumbers honours it only when the
    default region dials out with it, so "0049 …" fails for a US shop or with no region at
    all. No national number starts with "00", so reading it as "+" is safe as a fallback.
    """
    spellings = [text]
    international = _INTERNATIONAL_00.sub("+", text)
    if international != text:
        spellings.append(international)
    for spelling in list(spellings):
        match = _TRUNK_ZERO_AFTER_CC.match(spelling)
        if match:
            spellings.append(f"{match['cc']} {spelling[match.end() :]}")
    return list(dict.fromkeys(spellings))


def _parse_failure(exc: NumberParseException, candidate: str, previous: str) -> str:
    if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
        if candidate.lstrip().startswith(("+", "00")):
            return "phone has a country code that does not exist"
        return "phone needs a country code (start it with + and the country's code)"
    if exc.error_type == NumberParseException.TOO_LONG:
        return "phone has too many digits to be a phone number"
    if exc.error_type in (
        NumberParseException.TOO_SHORT_NSN,
        NumberParseException.TOO_SHORT_AFTER_IDD,
    ):
        return "phone is too short to be a phone number"
    return previous


def _invalid_failure(number: phonenumbers.PhoneNumber) -> str:
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == ValidationResult.INVALID_COUNTRY_CODE:
        return "phone has a country code that does not exist"
    if reason in (ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        return "phone has too few digits for its country"
    if reason == ValidationResult.TOO_LONG:
        return "phone has too many digits for its country"
    if reason == ValidationResult.INVALID_LENGTH:
        return "phone has the wrong number of digits for its country"
    return "phone is not a number in use in its country"
