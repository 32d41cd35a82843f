"""Counting SMS parts as the network bills them, and fitting a message to a budget."""

import unicodedata

import pytest
from comeback.domain.sms_content import (
    DEFAULT_OPT_OUT,
    SegmentInfo,
    compose_sms,
    is_gsm7,
    segment_info,
)

CYRILLIC = "ж"  # one UTF-16 unit, not in GSM-7
EMOJI = "\U0001f600"  # two UTF-16 units (a surrogate pair)
OPT_OUT_TAIL = " " + DEFAULT_OPT_OUT


@pytest.mark.parametrize(
    ("length", "segments"),
    [(0, 1), (1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_fits_160_alone_and_153_a_part(length, segments):
    assert segment_info("a" * length) == SegmentInfo("GSM-7", length, segments)


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_ucs2_fits_70_alone_and_67_a_part(length, segments):
    assert segment_info(CYRILLIC * length) == SegmentInfo("UCS-2", length, segments)


def test_the_whole_gsm7_alphabet_costs_one_septet_a_character():
    # Given the default alphabet's letters that ASCII lacks, and the ASCII it does have
    special = "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞ"
    special += "ÆæßÉ¤¡ÄÖÑÜ§¿äöñüà\n\r"
    ascii_part = "".join(chr(c) for c in range(32, 127) if chr(c) not in "`^{}\\[~]|")
    # Then each is GSM-7 at one septet
    assert segment_info(special + ascii_part) == SegmentInfo(
        "GSM-7", len(special) + len(ascii_part), 1
    )


@pytest.mark.parametrize("ch", list("^{}\\[~]|€\f"))
def test_extension_characters_cost_two_septets(ch):
    # Given 80 of them: 160 septets, one part; one more ASCII letter tips it to two
    assert segment_info(ch * 80) == SegmentInfo("GSM-7", 160, 1)
    assert segment_info(ch * 80 + "a") == SegmentInfo("GSM-7", 161, 2)


@pytest.mark.parametrize(
    "ch", ["`", "ç", "á", "\t", "\u2019", "\u2026", "\u00a0", "\x1b", CYRILLIC, EMOJI]
)
def test_one_character_outside_gsm7_makes_the_whole_message_ucs2(ch):
    # Given 100 GSM-7 letters (one GSM part) and one character outside the alphabet
    info = segment_info("a" * 100 + ch)
    # Then the whole message goes as UCS-2 and needs two parts
    assert not is_gsm7(ch)
    assert info.encoding == "UCS-2"
    assert info.segments == 2


def test_an_extension_character_is_never_split_between_parts():
    # Given an escape sequence that would straddle the end of the first 153-septet part
    straddling = "a" * 152 + "€" + "a" * 152
    # Then it moves whole to the second part, which costs a third part
    assert segment_info(straddling) == SegmentInfo("GSM-7", 306, 3)
    # While the same septets with the sequence inside the first part fit in two
    assert segment_info("a" * 151 + "€" + "a" * 153) == SegmentInfo("GSM-7", 306, 2)


def test_an_emoji_counts_two_units_and_is_never_split_between_parts():
    assert segment_info(EMOJI * 35) == SegmentInfo("UCS-2", 70, 1)
    assert segment_info(EMOJI * 36) == SegmentInfo("UCS-2", 72, 2)
    # Given a surrogate pair that would straddle the end of the first 67-unit part
    assert segment_info(CYRILLIC * 66 + EMOJI + CYRILLIC * 66) == SegmentInfo("UCS-2", 134, 3)
    assert segment_info(CYRILLIC * 65 + EMOJI + CYRILLIC * 67) == SegmentInfo("UCS-2", 134, 2)


def test_a_short_message_is_composed_whole_with_sender_and_opt_out():
    text = compose_sms("Your cart misses you.", sender_name="Acme")
    assert text == "Acme: Your cart misses you. Reply STOP to opt out"


def test_whitespace_is_collapsed_so_it_costs_nothing_and_keeps_gsm7():
    # Given newlines, tabs and a no-break space (which alone would force UCS-2)
    text = compose_sms("  Your\tcart\n\n misses\u00a0you.  ", sender_name=" Acme  Shop ")
    assert text == "Acme Shop: Your cart misses you. Reply STOP to opt out"
    assert segment_info(text).encoding == "GSM-7"


def test_without_a_sender_name_or_body_only_the_rest_is_sent():
    assert compose_sms("Hello") == "Hello Reply STOP to opt out"
    assert compose_sms("", sender_name="Acme") == "Acme: Reply STOP to opt out"
    assert compose_sms("Hi", opt_out="") == "Hi"


def test_a_long_gsm7_body_is_trimmed_to_fit_with_three_dots_and_stays_gsm7():
    # Given a body far longer than two parts
    body = " ".join(f"word{i}" for i in range(200))
    # When composed for at most two parts
    text = compose_sms(body, sender_name="Acme")
    info = segment_info(text)
    # Then it fits, still GSM-7, keeps sender and opt-out whole, and marks the cut with "..."
    assert info.encoding == "GSM-7"
    assert info.segments == 2
    assert text.startswith("Acme: word0 word1")
    assert text.endswith("..." + OPT_OUT_TAIL)
    # And it kept as much as fits: one more character would not
    kept = text[len("Acme: ") : -len("..." + OPT_OUT_TAIL)]
    assert body.startswith(kept)
    one_more = f"Acme: {body[: len(kept) + 1]}...{OPT_OUT_TAIL}"
    assert segment_info(one_more).segments == 3


@pytest.mark.parametrize("max_segments", [1, 2, 3, 5])
def test_trimming_lands_within_any_budget(max_segments):
    body = "Lorem ipsum dolor sit amet, {consectetur} adipiscing elit. " * 40
    text = compose_sms(body, max_segments=max_segments, sender_name="Acme")
    assert segment_info(text).segments <= max_segments
    assert segment_info(text).encoding == "GSM-7"
    assert text.endswith(OPT_OUT_TAIL)


def test_trimming_away_the_only_emoji_brings_back_gsm7_room():
    # Given a long GSM-7 body whose only non-GSM character is an emoji at the very end
    body = "Your basket is waiting for you. " * 20 + EMOJI
    assert segment_info(body).encoding == "UCS-2"
    # When trimmed to two parts
    text = compose_sms(body)
    info = segment_info(text)
    # Then the emoji is gone, the cut is marked with "..." (not "…"), and GSM-7's room is used
    assert EMOJI not in text and "\u2026" not in text
    assert info.encoding == "GSM-7"
    assert info.units > 2 * 67


def test_a_ucs2_message_is_trimmed_with_a_single_ellipsis_character():
    # Given a body that stays UCS-2 whatever is cut (the emoji comes first)
    body = EMOJI + " Ваша корзина ждёт вас. " * 20
    text = compose_sms(body, sender_name="Acme")
    info = segment_info(text)
    # Then "…" (one unit) marks the cut and the message fits two UCS-2 parts
    assert info == SegmentInfo("UCS-2", info.units, 2)
    assert text.endswith("\u2026" + OPT_OUT_TAIL)
    assert "..." not in text


def test_a_ucs2_sender_name_makes_the_ellipsis_ucs2_too():
    text = compose_sms("a" * 400, sender_name="Café \u2615")
    assert text.endswith("a\u2026" + OPT_OUT_TAIL)
    assert segment_info(text).segments <= 2


@pytest.mark.parametrize(
    ("unit", "whole"),
    [
        ("e\u0301", lambda kept: unicodedata.combining(kept[-1]) != 0),
        ("\U0001f1e9\U0001f1ea", lambda kept: len(kept) % 2 == 0),
        ("\U0001f469\u200d\U0001f469\u200d\U0001f467", lambda kept: kept.endswith("\U0001f467")),
        ("\U0001f44d\U0001f3fd", lambda kept: kept.endswith("\U0001f3fd")),
        ("\u2764\ufe0f", lambda kept: kept.endswith("\ufe0f")),
    ],
    ids=["combining-accent", "flag", "zwj-family", "skin-tone", "variation-selector"],
)
def test_the_cut_never_breaks_what_a_reader_sees_as_one_character(unit, whole):
    # Given a body of multi-code-point characters after a few letters, so that the room
    # left ends at every possible offset inside one of them
    trimmed = 0
    for lead in range(8):
        for repeat in range(30, 45):
            text = compose_sms("x" * lead + unit * repeat, opt_out="", max_segments=1)
            if not text.endswith("\u2026"):
                continue
            trimmed += 1
            # Then the kept part ends with a complete character
            kept = text[lead : -len("\u2026")]
            assert kept, "nothing kept"
            assert whole(kept), (lead, repeat, kept[-3:])
            assert unit * (len(kept) // len(unit)) == kept
    assert trimmed > 60


def test_surrogate_pairs_survive_trimming():
    text = compose_sms(EMOJI * 100, opt_out="", max_segments=1)
    assert text == EMOJI * 34 + "\u2026"
    assert segment_info(text) == SegmentInfo("UCS-2", 69, 1)


def test_extension_characters_near_the_limit_are_counted_when_trimming():
    # Given a body of two-septet characters only
    text = compose_sms("{" * 200, opt_out="", max_segments=1)
    # Then 78 of them (156 septets) and "..." make 159 septets; a 79th would make 161
    assert text == "{" * 78 + "..."
    assert segment_info(text) == SegmentInfo("GSM-7", 159, 1)


def test_the_opt_out_is_never_trimmed_so_a_budget_it_exceeds_is_refused():
    with pytest.raises(ValueError, match="segment budget"):
        compose_sms("Hello", opt_out="x" * 161, max_segments=1)
    with pytest.raises(ValueError, match="segment budget"):
        compose_sms("", opt_out="x" * 150, sender_name="y" * 20, max_segments=1)


def test_a_budget_with_room_for_nothing_but_the_opt_out_is_refused():
    # Given an opt-out leaving 2 septets: room for the bare opt-out but not "h..."
    assert compose_sms("", opt_out="x" * 158, max_segments=1) == "x" * 158
    with pytest.raises(ValueError, match="no room"):
        compose_sms("hello", opt_out="x" * 158, max_segments=1)


def test_a_budget_below_one_part_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        compose_sms("Hello", max_segments=0)


def test_a_huge_body_is_trimmed_quickly_and_correctly():
    text = compose_sms("ab " * 200_000, sender_name="Acme", max_segments=2)
    assert segment_info(text) == SegmentInfo("GSM-7", segment_info(text).units, 2)
    assert text.endswith("..." + OPT_OUT_TAIL)
