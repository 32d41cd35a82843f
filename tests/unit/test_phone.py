"""Phone numbers as people type them, normalised to E.164 or refused with a reason."""

import phonenumbers
import pytest
from comeback.domain.phone import (
    MAX_PHONE_INPUT_LENGTH,
    InvalidPhoneNumber,
    normalise_phone,
    phone_region,
)
from comeback.errors import InvalidInput
from phonenumbers import PhoneNumberType

BERLIN = "+493012345678"


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+49 (0)30 1234 5678", "DE", BERLIN),
        ("+49 (0)30 1234 5678", None, BERLIN),
        ("+49 (0) 30 1234 5678", "US", BERLIN),
        ("0049 30 12345678", "DE", BERLIN),
        ("030 12345678", "DE", BERLIN),
        ("030/1234-5678", "de", BERLIN),
        ("  +49 30 12345678\n", None, BERLIN),
        ("+44 (0)20 7946 0958", None, "+442079460958"),
        ("+44(0)2079460958", "GB", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        # Italian numbers keep their leading 0 after the country code
        ("+39 06 6982 1234", None, "+390669821234"),
        ("+39 06 4991 1234", "IT", "+390649911234"),
        ("(201) 555-0123", "US", "+12015550123"),
        ("201.555.0123", "US", "+12015550123"),
        ("+1 201 555 0123", "DE", "+12015550123"),
        ("tel:+49-30-12345678", None, BERLIN),
    ],
)
def test_real_world_spellings_become_e164(raw, region, expected):
    # Given a number written the way people write it, When normalised
    result = normalise_phone(raw, region)
    # Then it is the E.164 form, and that form is a valid number
    assert result == expected
    assert phonenumbers.is_valid_number(phonenumbers.parse(result, None))


def test_00_is_read_as_the_international_prefix_whatever_the_region():
    # Given "00" dialling, which phonenumbers honours only for regions that dial out with it
    # When the shop is in the US (011) or has no region at all
    # Then it still reads as +
    assert normalise_phone("0049 30 12345678", None) == BERLIN
    assert normalise_phone("0049 30 12345678", "US") == BERLIN
    assert normalise_phone("0044 20 7946 0958", "DE") == "+442079460958"


def test_a_bracketed_trunk_zero_that_phonenumbers_keeps_is_removed():
    # Given a Colombian mobile written with "(0)", which phonenumbers alone leaves invalid
    number = phonenumbers.example_number_for_type("CO", PhoneNumberType.MOBILE)
    national = phonenumbers.national_significant_number(number)
    raw = f"+57 (0){national}"
    assert not phonenumbers.is_valid_number(phonenumbers.parse(raw, None))
    # When normalised, Then the "(0)" is dropped and the number is valid
    assert normalise_phone(raw, None) == f"+57{national}"
    assert normalise_phone(f"0057 ( 0 ) {national}", "US") == f"+57{national}"


def test_the_bracketed_zero_is_understood_for_every_country_that_dials_a_trunk_zero():
    # Given each country whose national numbers start with a trunk 0, with its example
    # fixed-line and mobile numbers written as "+CC (0)NSN"
    checked = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata is None or metadata.national_prefix != "0":
            continue
        for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is None:
                continue
            expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            national = phonenumbers.national_significant_number(number)
            # When normalised, Then each is the same number as without the "(0)"
            assert normalise_phone(f"+{number.country_code} (0){national}", None) == expected
            checked += 1
    assert checked > 100


def test_a_bracketed_zero_that_belongs_to_the_number_is_kept():
    # Given an Italian number, where the 0 is part of the number, written with brackets
    # When normalised, Then the 0 stays (removing it would give another, invalid number)
    assert normalise_phone("+39 (0)6 4991 1234", None) == "+390649911234"


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("", "DE", "empty"),
        ("   ", "DE", "empty"),
        ("call me maybe", "DE", "not a phone number"),
        ("+", None, "not a phone number"),
        ("+49 1", None, "too short"),
        ("030 12345678", None, "country code"),
        ("+999 1234 5678", None, "country code that does not exist"),
        ("00999 1234 5678", "US", "country code that does not exist"),
        # possible length, but not a range any operator uses
        ("+44 7700 900123", None, "not a number in use"),
        ("+44 20 7946 095", None, "not a number in use"),
        ("+1 201 555 012", None, "too few digits"),
        ("+1 201 555 01234", None, "too many digits"),
        ("+49 30 1234567890123456", None, "too many digits"),
        ("+49 30 12345678 ext. 12", None, "extension"),
    ],
)
def test_unusable_numbers_are_refused_with_a_reason_that_does_not_repeat_them(raw, region, reason):
    # When a number that cannot be texted is normalised
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalise_phone(raw, region)
    # Then the message says why, without echoing the input into logs
    assert reason in str(caught.value)
    digits = "".join(ch for ch in raw if ch.isdigit())
    assert len(digits) < 4 or digits not in str(caught.value)


@pytest.mark.parametrize(
    "raw",
    [
        "+49 3O 9O1 82O",  # letter O for zero: libphonenumber reads it as 6
        "+49 30 901820 ext. ",  # a marker with no extension: read as the digits 398
        "+49 30 901820 abc",
        "+1 800 FLOWERS",
        "tel:+49 30 9O1820",
    ],
)
def test_letters_are_refused_rather_than_read_as_digits(raw):
    # Given a number with letters, which libphonenumber would turn into another valid number
    assert phonenumbers.is_valid_number(phonenumbers.parse(raw.removeprefix("tel:"), "DE"))
    # When normalised, Then it is refused, for a German shop or without a region
    for region in ("DE", None):
        with pytest.raises(InvalidPhoneNumber, match="no letters"):
            normalise_phone(raw, region)


@pytest.mark.parametrize(
    "raw",
    [
        "+49 30 12345678 ext. 12",
        "+49 30 12345678 x12",
        "+49 30 12345678;ext=12",
        "tel:+49-30-12345678;ext=12",
        "+49 3O 12345678 extension 12",
    ],
)
def test_an_extension_written_in_letters_is_still_refused_as_an_extension(raw):
    with pytest.raises(InvalidPhoneNumber, match="extension"):
        normalise_phone(raw, None)


def test_only_a_leading_tel_scheme_may_hold_letters():
    assert normalise_phone("TEL:+49-30-12345678", None) == BERLIN
    assert normalise_phone("Tel: +49 30 12345678", "DE") == BERLIN


def test_over_long_input_is_refused_before_it_is_parsed():
    # Given a valid number padded with separators past the limit
    raw = "+49 30 12345678" + " -" * MAX_PHONE_INPUT_LENGTH
    assert len(raw.strip()) > MAX_PHONE_INPUT_LENGTH
    # When normalised, Then it is refused for its length
    with pytest.raises(InvalidPhoneNumber, match="longer than 40"):
        normalise_phone(raw, None)
    # And exactly at the limit it is still read
    at_limit = "+49 30 1234567".ljust(MAX_PHONE_INPUT_LENGTH - 1, "-") + "8"
    assert len(at_limit) == MAX_PHONE_INPUT_LENGTH
    assert normalise_phone(at_limit, None) == BERLIN


def test_a_refusal_is_a_client_error_and_a_value_error():
    # When a client sends a bad number
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalise_phone("nope", "DE")
    # Then the HTTP layer answers 400 (InvalidInput) and plain callers can catch ValueError
    assert isinstance(caught.value, InvalidInput)
    assert isinstance(caught.value, ValueError)
    assert caught.value.message == str(caught.value)


def test_a_non_string_is_refused():
    with pytest.raises(InvalidPhoneNumber, match="string"):
        normalise_phone(4930123456, "DE")  # type: ignore[arg-type]


def test_an_unknown_default_region_is_a_configuration_error_not_the_clients():
    # Given a shop configured with a region that does not exist
    with pytest.raises(ValueError, match="region") as caught:
        normalise_phone("+49 30 12345678", "XX")
    # Then it is not reported as the customer's mistake
    assert not isinstance(caught.value, InvalidInput)


@pytest.mark.parametrize(
    ("e164", "region"),
    [
        (BERLIN, "DE"),
        ("+442079460958", "GB"),
        ("+12015550123", "US"),
        ("+390649911234", "IT"),
        # Rome's 06 698 range is Vatican City's
        ("+390669821234", "VA"),
        # freephone: valid, but no one country
        ("+80012345678", None),
        ("004930123456", None),
        ("+", None),
        ("", None),
        ("+49 nonsense", None),
    ],
)
def test_phone_region_names_the_country_of_a_number(e164, region):
    assert phone_region(e164) == region
