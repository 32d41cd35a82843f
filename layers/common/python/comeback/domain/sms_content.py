"""Counting and composing text messages the way the network bills them.

An SMS carries 140 bytes. A message written only in the GSM 03.38 default alphabet goes as
7-bit septets (160 to a message); one character outside it switches the whole message to
UCS-2, two bytes a character (70). A longer message is split into parts that each lose room
to a concatenation header (153 septets or 67 UCS-2 units), and every part is paid for, so a
stray emoji or curly quote can triple the cost. We count before sending and trim to a budget.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

GSM7: Literal["GSM-7"] = "GSM-7"
UCS2: Literal["UCS-2"] = "UCS-2"
Encoding = Literal["GSM-7", "UCS-2"]

GSM7_SINGLE = 160
GSM7_PART = 153
UCS2_SINGLE = 70
UCS2_PART = 67

# 3GPP TS 23.038 default alphabet, in table order (0x1B, the escape to the extension table,
# is left out: it is not a character anyone writes). 0x09 is the capital C cedilla.
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# The extension table: each is sent as escape + code, two septets.
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

DEFAULT_OPT_OUT = "Reply STOP to opt out"
_ELLIPSIS_GSM7 = "..."
_ELLIPSIS_UCS2 = "\u2026"
_ZWJ = "\u200d"


@dataclass(frozen=True)
class SegmentInfo:
    """How a text goes over the air: its encoding, its length in that encoding's units
    (septets for GSM-7, UTF-16 code units for UCS-2) and the number of parts billed."""

    encoding: Encoding
    units: int
    segments: int


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM-7 default alphabet or its extension table."""
    return all(ch in _GSM7_BASIC or ch in _GSM7_EXTENSION for ch in text)


def segment_info(text: str) -> SegmentInfo:
    """Encoding, length and parts of `text` as sent, without any change to the text.

    In a multi-part message a character is never split between parts (an extension
    character's escape and code, or an emoji's two UTF-16 halves, travel together), so a
    part may hold one unit less than its room; that is counted. An empty text is one part.
    """
    if is_gsm7(text):
        costs = [2 if ch in _GSM7_EXTENSION else 1 for ch in text]
        return SegmentInfo(GSM7, sum(costs), _parts(costs, GSM7_SINGLE, GSM7_PART))
    costs = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return SegmentInfo(UCS2, sum(costs), _parts(costs, UCS2_SINGLE, UCS2_PART))


def _parts(costs: list[int], single: int, part: int) -> int:
    """Parts needed when characters of the given costs are packed in order."""
    if sum(costs) <= single:
        return 1
    parts, used = 1, 0
    for cost in costs:
        if used + cost > part:
            parts, used = parts + 1, 0
        used += cost
    return parts


def compose_sms(
    body: str,
    *,
    opt_out: str = DEFAULT_OPT_OUT,
    max_segments: int = 2,
    sender_name: str | None = None,
) -> str:
    """`"{sender_name}: {body} {opt_out}"`, whitespace collapsed, fitted to `max_segments`.

    Only the body is shortened, never the sender or the opt-out (which promotional messages
    must carry). It is cut between characters (not inside an accent or emoji sequence) and
    ends in an ellipsis: three dots when the rest of the message is GSM-7, since "…" is not
    and would switch the whole message to UCS-2 (less than half the room); "…" otherwise.
    ValueError when the sender and opt-out alone exceed the budget, or leave no room for one
    character of the body and the ellipsis (a message cut to nothing says nothing).
    """
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    name = _collapse(sender_name)
    prefix = f"{name}: " if name else ""
    suffix = _collapse(opt_out)
    text = _collapse(body)

    def assemble(middle: str) -> str:
        return " ".join(part for part in (f"{prefix}{middle}".strip(), suffix) if part)

    def fits(message: str) -> bool:
        return segment_info(message).segments <= max_segments

    whole = assemble(text)
    if fits(whole):
        return whole
    if not fits(assemble("")):
        raise ValueError("the sender name and opt-out text alone exceed the segment budget")

    def trimmed(cut: int) -> str:
        kept = text[:cut].rstrip()
        ellipsis = _ELLIPSIS_GSM7 if is_gsm7(assemble(kept)) else _ELLIPSIS_UCS2
        return assemble(kept + ellipsis)

    # Every character costs at least one unit, so no longer prefix can fit; this bounds the
    # work for a huge body.
    limit = min(len(text), max_segments * GSM7_SINGLE)
    cuts = [cut for cut in _boundaries(text[: limit + 1]) if 0 < cut <= limit]
    # A longer prefix never needs fewer parts, so the longest cut that fits is found by
    # bisection; `low` only ever holds a cut that was checked to fit.
    low, high = -1, len(cuts)
    while high - low > 1:
        middle = (low + high) // 2
        if fits(trimmed(cuts[middle])):
            low = middle
        else:
            high = middle
    if low < 0:
        raise ValueError("the sender name and opt-out text leave no room for the message")
    return trimmed(cuts[low])


def _collapse(text: str | None) -> str:
    """Runs of any whitespace (newlines, tabs, no-break spaces) become one space: they cost
    room, and a no-break space alone would switch the message to UCS-2."""
    return " ".join(text.split()) if text else ""


def _boundaries(text: str) -> list[int]:
    """Indexes where the text may be cut without breaking what a reader sees as one character.

    An approximation of Unicode grapheme clusters that needs no third-party package: no cut
    before a combining mark, a variation selector, a skin-tone modifier, an emoji tag or a
    zero-width joiner, nor after a joiner, nor inside a pair of regional indicators (a flag).
    Python strings hold code points, so a surrogate pair is never split anyway.
    """
    cuts = []
    flag_run = 0
    for index, ch in enumerate(text):
        code = ord(ch)
        is_flag_half = 0x1F1E6 <= code <= 0x1F1FF
        joined = index > 0 and (text[index - 1] == _ZWJ or _extends(ch))
        inside_flag = is_flag_half and flag_run % 2 == 1
        if index > 0 and not joined and not inside_flag:
            cuts.append(index)
        flag_run = flag_run + 1 if is_flag_half else 0
    cuts.append(len(text))
    return cuts


def _extends(ch: str) -> bool:
    """True for a code point that attaches to the one before it."""
    code = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Mc", "Me")
        or ch == _ZWJ
        or 0xFE00 <= code <= 0xFE0F
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
        or 0xE0100 <= code <= 0xE01EF
    )
