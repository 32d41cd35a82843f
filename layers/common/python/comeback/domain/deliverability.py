"""Deliverability checks for a sender domain: the DNS records SES and mailbox providers need
(Easy DKIM, SPF and MX of the custom MAIL FROM domain, DMARC) and the RFC 8058 one-click
unsubscribe headers, each with the exact record to add or fix.

Pure: DNS answers come in through a `Lookup` function, messages as parsed `Message`s.
Sources of the rules: RFC 7208 (SPF), RFC 7489 (DMARC), RFC 8058 (one-click unsubscribe) and
the SES developer guide (Easy DKIM, custom MAIL FROM domain).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from enum import StrEnum

from comeback.domain.email_content import build_mime, render, unsubscribe_url
from comeback.domain.profiles import new_profile
from comeback.domain.timers import REACTIVATION
from comeback.domain.tokens import UnsubscribeClaim, sign_unsubscribe
from comeback.models.shop import Shop, ShopSettings

DKIM = "dkim"
SPF = "spf"
MAIL_FROM_MX = "mail_from_mx"
MAIL_FROM_SPF = "mail_from_spf"
DMARC = "dmarc"
UNSUBSCRIBE_HEADERS = "unsubscribe_headers"

# The same subdomain `infra.messaging` gives SES as the custom MAIL FROM domain.
MAIL_FROM_SUBDOMAIN = "bounce"
MAIL_FROM_MX_PRIORITY = 10
SES_SPF_INCLUDE = "include:amazonses.com"
SES_SPF_RECORD = f"v=spf1 {SES_SPF_INCLUDE} ~all"
DKIM_TOKEN_COUNT = 3
DMARC_REPORT_LOCAL_PART = "dmarc-reports"
DMARC_POLICIES = ("none", "quarantine", "reject")
ONE_CLICK = "List-Unsubscribe=One-Click"

# Second-level labels under which country-code TLDs register names (co.uk, com.au, ...): a
# rough stand-in for the public suffix list when looking for the organisational domain.
_SECOND_LEVEL_SUFFIXES = frozenset(
    {"ac", "co", "com", "edu", "gov", "ltd", "me", "net", "or", "org", "plc", "sch"}
)
_TOKEN = re.compile(r"^[a-z0-9]{1,63}$")
_LABEL = r"(?!-)[a-z0-9_-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"^(?:{_LABEL}\.)+{_LABEL}$")
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-[0-9]+$")


class DnsStatus(StrEnum):
    """A definite negative answer (as opposed to `LookupFailed`)."""

    NXDOMAIN = "NXDOMAIN"  # the name does not exist
    NO_ANSWER = "NOANSWER"  # the name exists but has no record of that type


class LookupFailed(Exception):
    """The DNS gave no usable answer (SERVFAIL, refused, timeout): the record is unknown."""


# `lookup(name, rdtype)` -> the records' values (TXT: the strings joined, unquoted; CNAME:
# the target; MX: "preference host"; names without the final dot), or a `DnsStatus`.
Lookup = Callable[[str, str], list[str] | DnsStatus]


class Status(StrEnum):
    OK = "OK"
    MISSING = "MISSING"
    WRONG = "WRONG"
    WARN = "WARN"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class Record:
    name: str
    type: str
    value: str

    def __str__(self) -> str:
        return f"{self.name} {self.type} {self.value}"


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    summary: str
    record: Record | None = None
    fix: str | None = None
    # Optional advice (a warning) never fails the doctor; a required check must be OK.
    required: bool = True

    @property
    def ok(self) -> bool:
        return self.status is Status.OK


@dataclass(frozen=True)
class SenderDomain:
    """What the stack sets up for one sender domain."""

    domain: str
    region: str
    dkim_tokens: Sequence[str] | None = None
    dmarc_report_address: str | None = None
    mail_from_domain: str = field(default="")

    def __post_init__(self) -> None:
        domain = normalise_name(self.domain)
        if not _DOMAIN.match(domain):
            raise ValueError(f"not a domain name: {self.domain!r}")
        if not _REGION.match(self.region):
            raise ValueError(f"not an AWS region: {self.region!r}")
        object.__setattr__(self, "domain", domain)
        if not self.mail_from_domain:
            object.__setattr__(self, "mail_from_domain", f"{MAIL_FROM_SUBDOMAIN}.{domain}")
        if self.dkim_tokens is not None:
            tokens = [token.strip().lower() for token in self.dkim_tokens]
            bad = [token for token in tokens if not _TOKEN.match(token)]
            if bad:
                raise ValueError(f"not a DKIM token: {bad[0]!r} (letters and digits only)")
            object.__setattr__(self, "dkim_tokens", tuple(tokens))

    @property
    def feedback_host(self) -> str:
        return f"feedback-smtp.{self.region}.amazonses.com"

    @property
    def report_address(self) -> str:
        return self.dmarc_report_address or f"{DMARC_REPORT_LOCAL_PART}@{self.domain}"


def normalise_name(name: str) -> str:
    return name.strip().lower().rstrip(".")


def recommended_records(sender: SenderDomain) -> list[Record]:
    """Every record the sender domain should publish (DKIM only when the tokens are known)."""
    return [
        *(dkim_record(sender.domain, token) for token in sender.dkim_tokens or ()),
        mail_from_mx_record(sender),
        Record(sender.mail_from_domain, "TXT", SES_SPF_RECORD),
        dmarc_record(sender.domain, sender.report_address),
    ]


def dkim_record(domain: str, token: str) -> Record:
    return Record(f"{token}._domainkey.{domain}", "CNAME", f"{token}.dkim.amazonses.com")


def mail_from_mx_record(sender: SenderDomain) -> Record:
    return Record(sender.mail_from_domain, "MX", f"{MAIL_FROM_MX_PRIORITY} {sender.feedback_host}")


def dmarc_record(domain: str, report_address: str) -> Record:
    return Record(f"_dmarc.{domain}", "TXT", f"v=DMARC1; p=none; rua=mailto:{report_address}")


@dataclass(frozen=True)
class Deployed:
    """What a deployed stack (or SES) says about the sender domain; None where it says nothing."""

    tokens: tuple[str, ...] | None = None
    region: str | None = None
    api_url: str | None = None
    report_address: str | None = None


def read_stack_outputs(outputs: dict[str, str]) -> Deployed:
    """DKIM tokens, SES region, API URL and DMARC report address from `infra.stack` outputs."""
    tokens = tuple(
        value.split()[0].split("._domainkey.")[0]
        for key, value in sorted(outputs.items())
        if key.startswith("DnsRecordDkim") and "._domainkey." in value
    )
    mx = re.search(
        r"feedback-smtp\.([a-z0-9-]+)\.amazonses\.com", outputs.get("DnsRecordMailFromMx", "")
    )
    rua = re.search(r"rua=mailto:([^;,!\"\s]+)", outputs.get("DnsRecordDmarc", ""))
    return Deployed(
        tokens=tokens or None,
        region=mx.group(1) if mx else None,
        api_url=outputs.get("ApiUrl") or None,
        report_address=rua.group(1) if rua else None,
    )


def check_dns(sender: SenderDomain, lookup: Lookup) -> list[Finding]:
    """Every DNS check for the sender domain, in the order a person would fix them."""
    return [
        *check_dkim(sender, lookup),
        check_mail_from_mx(sender, lookup),
        check_mail_from_spf(sender, lookup),
        check_domain_spf(sender, lookup),
        *check_dmarc(sender, lookup),
    ]


# -- DKIM ------------------------------------------------------------------------------------


def check_dkim(sender: SenderDomain, lookup: Lookup) -> list[Finding]:
    if not sender.dkim_tokens:
        return [
            Finding(
                DKIM,
                Status.UNKNOWN,
                "the Easy DKIM tokens are not known, so the three CNAME records were not checked",
                fix=(
                    "pass --stack <name> (reads the DnsRecordDkim outputs), --from-ses (asks SES) "
                    "or --dkim-tokens a,b,c (from the SES console: Identities > "
                    f"{sender.domain} > DomainKeys Identified Mail)"
                ),
            )
        ]
    findings = []
    for token in sender.dkim_tokens:
        expected = dkim_record(sender.domain, token)
        try:
            answer = lookup(expected.name, "CNAME")
        except LookupFailed as exc:
            findings.append(_unknown(DKIM, expected, exc))
            continue
        if isinstance(answer, DnsStatus) or not answer:
            findings.append(
                Finding(
                    DKIM,
                    Status.MISSING,
                    f"no CNAME record at {expected.name}",
                    expected,
                    f"Add a CNAME record at {expected.name} pointing to {expected.value}",
                )
            )
        elif normalise_name(answer[0]) != expected.value:
            findings.append(
                Finding(
                    DKIM,
                    Status.WRONG,
                    f"{expected.name} points to {normalise_name(answer[0])}",
                    expected,
                    f"Change the CNAME record at {expected.name} to point to {expected.value}",
                )
            )
        else:
            findings.append(Finding(DKIM, Status.OK, f"{expected.name} CNAME {expected.value}"))
    return findings


# -- MAIL FROM: MX and SPF -------------------------------------------------------------------


def check_mail_from_mx(sender: SenderDomain, lookup: Lookup) -> Finding:
    expected = mail_from_mx_record(sender)
    name = sender.mail_from_domain
    try:
        answer = lookup(name, "MX")
    except LookupFailed as exc:
        return _unknown(MAIL_FROM_MX, expected, exc)
    if isinstance(answer, DnsStatus) or not answer:
        return Finding(
            MAIL_FROM_MX,
            Status.MISSING,
            f"no MX record at {name}: SES cannot use the custom MAIL FROM domain and falls "
            "back to amazonses.com, so SPF does not align with your domain",
            expected,
            f"Add an MX record at {name}: {expected.value}",
        )
    hosts = [normalise_name(value.split()[-1]) for value in answer]
    if len(answer) > 1:
        # SES developer guide: the custom MAIL FROM setup fails with more than one MX record.
        return Finding(
            MAIL_FROM_MX,
            Status.WRONG,
            f"{len(answer)} MX records at {name} ({', '.join(hosts)}); SES needs exactly one",
            expected,
            f"Keep only one MX record at {name}: {expected.value}",
        )
    if hosts[0] != sender.feedback_host:
        other_region = re.fullmatch(r"feedback-smtp\.([a-z0-9-]+)\.amazonses\.com", hosts[0])
        why = (
            f" (region {other_region.group(1)}, but SES sends from {sender.region})"
            if other_region
            else ""
        )
        return Finding(
            MAIL_FROM_MX,
            Status.WRONG,
            f"the MX record at {name} points to {hosts[0]}{why}",
            expected,
            f"Change the MX record at {name} to: {expected.value}",
        )
    return Finding(MAIL_FROM_MX, Status.OK, f"{name} MX {answer[0]}")


@dataclass(frozen=True)
class SpfRecord:
    terms: tuple[str, ...]

    @property
    def all_qualifier(self) -> str | None:
        """The qualifier of a final `all` mechanism ("+", "-", "~", "?"), if there is one."""
        for term in reversed(self.terms):
            if "=" in term:  # a modifier (redirect=, exp=), not a mechanism
                continue
            qualifier, mechanism = (term[0], term[1:]) if term[0] in "+-~?" else ("+", term)
            return qualifier if mechanism.lower() == "all" else None
        return None

    def includes(self, target: str) -> bool:
        wanted = {f"include:{target}", f"+include:{target}"}
        return any(term.lower() in wanted for term in self.terms)


def spf_records(texts: Iterable[str]) -> list[SpfRecord]:
    """RFC 7208 §4.5: the TXT records that are SPF records (`v=spf1` then a space or end)."""
    records = []
    for text in texts:
        parts = text.split()
        if parts and parts[0].lower() == "v=spf1":
            records.append(SpfRecord(tuple(parts[1:])))
    return records


def check_mail_from_spf(sender: SenderDomain, lookup: Lookup) -> Finding:
    name = sender.mail_from_domain
    expected = Record(name, "TXT", SES_SPF_RECORD)
    try:
        answer = lookup(name, "TXT")
    except LookupFailed as exc:
        return _unknown(MAIL_FROM_SPF, expected, exc)
    records = [] if isinstance(answer, DnsStatus) else spf_records(answer)
    if not records:
        return Finding(
            MAIL_FROM_SPF,
            Status.MISSING,
            f"no SPF record at {name}: receivers cannot tell that SES may send for it",
            expected,
            f"Add a TXT record at {name}: {SES_SPF_RECORD}",
        )
    problem = _spf_problem(records, SES_SPF_INCLUDE.removeprefix("include:"))
    if problem:
        return Finding(
            MAIL_FROM_SPF,
            Status.WRONG,
            f"{name}: {problem}",
            expected,
            f"Replace the SPF records at {name} with one TXT record: {SES_SPF_RECORD}",
        )
    return Finding(MAIL_FROM_SPF, Status.OK, f"{name} TXT v=spf1 {' '.join(records[0].terms)}")


def _spf_problem(records: list[SpfRecord], include: str) -> str | None:
    if len(records) > 1:
        return (
            f"{len(records)} SPF records; RFC 7208 makes that a permanent error (permerror), "
            "so SPF fails for all of them"
        )
    record = records[0]
    if not record.includes(include):
        return f"the SPF record does not include:{include}, so SES's servers are not allowed"
    qualifier = record.all_qualifier
    if qualifier == "+":
        return "the SPF record ends in +all, which allows every server on the internet"
    if qualifier not in ("~", "-"):
        return "the SPF record does not end in ~all or -all"
    return None


def check_domain_spf(sender: SenderDomain, lookup: Lookup) -> Finding:
    """The From domain's own SPF: SES mail is checked on the MAIL FROM domain instead, so this
    is advice only (a broken record still hurts other mail sent as this domain)."""
    name = sender.domain
    try:
        answer = lookup(name, "TXT")
    except LookupFailed as exc:
        return _unknown(SPF, None, exc, required=False)
    records = [] if isinstance(answer, DnsStatus) else spf_records(answer)
    if not records:
        return Finding(
            SPF,
            Status.OK,
            f"{name} has no SPF record of its own; none is needed for SES mail, which SPF "
            f"checks on {sender.mail_from_domain}",
            required=False,
        )
    if len(records) > 1:
        return Finding(
            SPF,
            Status.WARN,
            f"{name} has {len(records)} SPF records (permerror for any mail that uses it)",
            fix=f"Merge the SPF records at {name} into one TXT record",
            required=False,
        )
    if records[0].all_qualifier == "+":
        return Finding(
            SPF,
            Status.WARN,
            f"the SPF record at {name} ends in +all, which allows every server",
            fix=f"End the SPF record at {name} with ~all or -all",
            required=False,
        )
    return Finding(SPF, Status.OK, f"{name} has one SPF record", required=False)


# -- DMARC -----------------------------------------------------------------------------------


def organisational_domain(domain: str) -> str:
    """An approximation of RFC 7489's organisational domain (no public suffix list): the last
    two labels, or three under a country's second level such as `co.uk`."""
    labels = normalise_name(domain).split(".")
    under_country = len(labels) >= 3 and len(labels[-1]) == 2
    keep = 3 if under_country and labels[-2] in _SECOND_LEVEL_SUFFIXES else 2
    return ".".join(labels[-keep:])


def parse_dmarc(text: str) -> dict[str, str] | None:
    """The record's tags, or None unless its first tag is `v=DMARC1` (RFC 7489 §6.3)."""
    parts = text.split(";")
    version, _, value = parts[0].partition("=")
    if version.strip().lower() != "v" or value.strip() != "DMARC1":
        return None
    tags: dict[str, str] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if sep:
            tags.setdefault(key.strip().lower(), value.strip())
    return tags


def check_dmarc(sender: SenderDomain, lookup: Lookup) -> list[Finding]:
    """RFC 7489 §6.6.3: the record at `_dmarc.<From domain>`, else at the organisational
    domain's; several records mean no DMARC at all."""
    expected = dmarc_record(sender.domain, sender.report_address)
    candidates = [sender.domain]
    org = organisational_domain(sender.domain)
    if org != sender.domain:
        candidates.append(org)
    for name in candidates:
        try:
            answer = lookup(f"_dmarc.{name}", "TXT")
        except LookupFailed as exc:
            return [_unknown(DMARC, expected, exc)]
        records = [] if isinstance(answer, DnsStatus) else answer
        parsed = [tags for tags in map(parse_dmarc, records) if tags is not None]
        if len(parsed) > 1:
            return [
                Finding(
                    DMARC,
                    Status.WRONG,
                    f"{len(parsed)} DMARC records at _dmarc.{name}; receivers then apply no "
                    "DMARC at all",
                    expected,
                    f"Keep only one TXT record at _dmarc.{name}, e.g. {expected.value}",
                )
            ]
        if parsed:
            return _judge_dmarc(sender, name, parsed[0], expected)
    looked = " or ".join(f"_dmarc.{name}" for name in candidates)
    return [
        Finding(
            DMARC,
            Status.MISSING,
            f"no DMARC record at {looked}: mailbox providers expect one from bulk senders",
            expected,
            f"Add a TXT record at {expected.name}: {expected.value}",
        )
    ]


def _judge_dmarc(
    sender: SenderDomain, name: str, tags: dict[str, str], expected: Record
) -> list[Finding]:
    inherited = name != sender.domain
    where = f"_dmarc.{name}" + (
        f" (the organisational domain's record, which covers {sender.domain})" if inherited else ""
    )
    # A subdomain that inherits the organisational record gets `sp`, falling back to `p`.
    policy_tag = "sp" if inherited and "sp" in tags else "p"
    policy = tags.get(policy_tag, "").lower()
    findings = []
    if policy not in DMARC_POLICIES:
        findings.append(
            Finding(
                DMARC,
                Status.WRONG,
                f"the DMARC record at {where} has "
                + (f"{policy_tag}={tags[policy_tag]}" if policy_tag in tags else "no p= tag")
                + " (needs none, quarantine or reject)",
                Record(f"_dmarc.{name}", "TXT", expected.value),
                f"Set p=none (or quarantine/reject) in the TXT record at _dmarc.{name}, "
                f"e.g. {expected.value}",
            )
        )
    else:
        findings.append(Finding(DMARC, Status.OK, f"{where}: {policy_tag}={policy}"))
    reports = [uri for uri in tags.get("rua", "").split(",") if uri.strip().startswith("mailto:")]
    if not reports:
        findings.append(
            Finding(
                DMARC,
                Status.WARN,
                f"the DMARC record at _dmarc.{name} asks for no aggregate reports (rua=mailto:)",
                fix=f"Add rua=mailto:{sender.report_address} to the TXT record at _dmarc.{name}",
                required=False,
            )
        )
    if tags.get("aspf", "r").lower() == "s":
        findings.append(
            Finding(
                DMARC,
                Status.WARN,
                f"aspf=s at _dmarc.{name}: SPF can never align, because the MAIL FROM domain "
                f"{sender.mail_from_domain} is not exactly {sender.domain}; DMARC then rests "
                "on DKIM alone",
                fix=f"Remove aspf=s from the TXT record at _dmarc.{name} (relaxed is the default)",
                required=False,
            )
        )
    return findings


# -- one-click unsubscribe -------------------------------------------------------------------


def check_unsubscribe_headers(message: Message, *, source: str) -> list[Finding]:
    """RFC 8058: an https URI in List-Unsubscribe, List-Unsubscribe-Post exactly `One-Click`,
    and (for a received message) a DKIM signature that covers both headers."""
    findings = []
    links = re.findall(r"<([^>]*)>", str(message.get("List-Unsubscribe", "")))
    if not any(link.lower().startswith("https:") for link in links):
        findings.append(
            Finding(
                UNSUBSCRIBE_HEADERS,
                Status.MISSING,
                f"{source}: no https URI in List-Unsubscribe",
                fix="Send marketing mail with List-Unsubscribe: <https://.../v1/unsubscribe?t=...>",
            )
        )
    post = [str(value).strip() for value in message.get_all("List-Unsubscribe-Post") or []]
    if post != [ONE_CLICK]:
        findings.append(
            Finding(
                UNSUBSCRIBE_HEADERS,
                Status.MISSING if not post else Status.WRONG,
                f"{source}: List-Unsubscribe-Post is "
                + (repr(post[0]) if post else "missing")
                + f", not {ONE_CLICK!r}",
                fix=f"Send marketing mail with List-Unsubscribe-Post: {ONE_CLICK}",
            )
        )
    if not findings:
        findings.append(
            Finding(
                UNSUBSCRIBE_HEADERS,
                Status.OK,
                f"{source}: List-Unsubscribe (https) and List-Unsubscribe-Post: {ONE_CLICK}",
            )
        )
    return findings


def sample_marketing_message(
    sender: SenderDomain, *, public_base_url: str, now: datetime | None = None
) -> EmailMessage:
    """A win-back email built by the sender's own composer, with a throwaway signing key."""
    now = now or datetime(2024, 1, 1, tzinfo=UTC)
    shop = Shop(
        shop_id="doctor",
        name="Doctor's Sample Shop",
        created_at=now,
        settings=ShopSettings(site_url="https://shop.invalid"),
    )
    claim = UnsubscribeClaim(shop.shop_id, "sample", "email", int(now.timestamp()))
    link = unsubscribe_url(public_base_url, sign_unsubscribe(claim, b"sample-key" * 4))
    content = render(REACTIVATION, new_profile(shop.shop_id, "sample", now), shop, link)
    return build_mime(
        content,
        from_address=f"no-reply@{sender.domain}",
        from_name=shop.name,
        to="someone@shop.invalid",
        unsubscribe_link=link,
        now=now,
        message_kind=REACTIVATION,
    )


def check_unsubscribe_signed(message: Message, *, source: str) -> Finding:
    """For a message as received: RFC 8058 asks for a DKIM signature covering both headers."""
    covered = set()
    for signature in message.get_all("DKIM-Signature") or []:
        match = re.search(r"(?:^|;)\s*h=([^;]*)", re.sub(r"\s+", "", str(signature)))
        if match:
            covered |= {header.lower() for header in match.group(1).split(":")}
    needed = {"list-unsubscribe", "list-unsubscribe-post"}
    if needed <= covered:
        return Finding(
            UNSUBSCRIBE_HEADERS,
            Status.OK,
            f"{source}: a DKIM signature covers both unsubscribe headers",
            required=False,
        )
    return Finding(
        UNSUBSCRIBE_HEADERS,
        Status.WARN,
        f"{source}: no DKIM signature covers "
        + " and ".join(sorted(needed - covered))
        + " (RFC 8058 asks for one)",
        fix="Send through the DKIM-verified SES identity so the signature covers these headers",
        required=False,
    )


def passed(findings: Iterable[Finding]) -> bool:
    return all(finding.ok for finding in findings if finding.required)


def report_lines(findings: Sequence[Finding]) -> list[str]:
    """One line per finding, then the record and the fix under each one that is not OK."""
    lines = []
    for finding in findings:
        shown = finding.status if finding.required or finding.ok else Status.WARN
        lines.append(f"{shown.value:<8} {finding.check:<20} {finding.summary}")
        if not finding.ok and finding.record is not None:
            lines.append(f"{'':<29} record: {finding.record}")
        if not finding.ok and finding.fix:
            lines.append(f"{'':<29} fix:    {finding.fix}")
    failing = [finding for finding in findings if finding.required and not finding.ok]
    if failing:
        verdict = f"NOT READY: {len(failing)} required check(s) failed or could not run"
    else:
        verdict = "READY: every required check passed"
    counts = {status: sum(1 for f in findings if f.status is status) for status in Status}
    tally = ", ".join(f"{n} {status.value.lower()}" for status, n in counts.items() if n)
    lines.append(f"{verdict} ({tally}).")
    return lines


def finding_as_dict(finding: Finding) -> dict[str, object]:
    return {
        "check": finding.check,
        "status": finding.status.value,
        "ok": finding.ok,
        "required": finding.required,
        "summary": finding.summary,
        "record": None
        if finding.record is None
        else {
            "name": finding.record.name,
            "type": finding.record.type,
            "value": finding.record.value,
        },
        "fix": finding.fix,
    }


def _unknown(
    check: str, expected: Record | None, exc: LookupFailed, *, required: bool = True
) -> Finding:
    return Finding(
        check,
        Status.UNKNOWN,
        f"could not check: {exc}",
        expected,
        "Try again, or ask another name server with --nameserver",
        required=required,
    )
