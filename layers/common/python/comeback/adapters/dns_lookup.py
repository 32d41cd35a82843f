"""DNS lookups for the deliverability doctor, through dnspython.

Only the name servers given are asked; the system's resolver is used only when none is given.
A definite "no such name" or "no such record" is an answer; SERVFAIL, refusals and timeouts
are `LookupFailed`, which the doctor reports as "could not check", never as missing.
"""

from __future__ import annotations

import dns.exception
import dns.name
import dns.nameserver
import dns.rdata
import dns.resolver
from dns.rdtypes.ANY.MX import MX
from dns.rdtypes.ANY.TXT import TXT

from comeback.domain.deliverability import DnsStatus, LookupFailed

DNS_PORT = 53
TIMEOUT_SECONDS = 2.0
LIFETIME_SECONDS = 5.0


def parse_nameserver(text: str) -> tuple[str, int]:
    """`192.0.2.1`, `192.0.2.1:5353`, `[2001:db8::1]:5353` or `2001:db8::1`."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    if not host:
        raise ValueError(f"not a name server address: {text!r}")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"not a port: {port!r}")
    return host, int(port) if port else DNS_PORT


class DnsLookup:
    """`lookup(name, rdtype)` for `comeback.domain.deliverability`."""

    def __init__(
        self,
        nameservers: list[tuple[str, int]] | None = None,
        *,
        timeout: float = TIMEOUT_SECONDS,
        lifetime: float = LIFETIME_SECONDS,
    ) -> None:
        if nameservers:
            self._resolver = dns.resolver.Resolver(configure=False)
            self._resolver.nameservers = [
                dns.nameserver.Do53Nameserver(host, port) for host, port in nameservers
            ]
        else:
            self._resolver = dns.resolver.Resolver()
        self._resolver.timeout = timeout
        self._resolver.lifetime = lifetime

    def __call__(self, name: str, rdtype: str) -> list[str] | DnsStatus:
        try:
            answer = self._resolver.resolve(
                dns.name.from_text(name), rdtype, search=False, raise_on_no_answer=False
            )
        except dns.resolver.NXDOMAIN:
            return DnsStatus.NXDOMAIN
        except dns.resolver.NoNameservers as exc:
            raise LookupFailed(
                f"{name} {rdtype}: no name server answered (SERVFAIL or refused)"
            ) from exc
        except dns.exception.Timeout as exc:
            raise LookupFailed(f"{name} {rdtype}: timed out") from exc
        except dns.exception.DNSException as exc:
            raise LookupFailed(f"{name} {rdtype}: {exc}") from exc
        if answer.rrset is None:
            return DnsStatus.NO_ANSWER
        return [_text(rdata) for rdata in answer.rrset]


def _text(rdata: dns.rdata.Rdata) -> str:
    if isinstance(rdata, TXT):
        # RFC 7208 §3.3: a record's strings are joined with nothing between them.
        return b"".join(rdata.strings).decode("utf-8", "replace")
    if isinstance(rdata, MX):
        return f"{rdata.preference} {rdata.exchange.to_text(omit_final_dot=True).lower()}"
    return rdata.to_text().lower().rstrip(".")
