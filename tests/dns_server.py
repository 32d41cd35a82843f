"""A small authoritative DNS server for tests, on 127.0.0.1 with an ephemeral port (UDP, and
TCP on the same port when it is free), serving a zone given as a dict:

    {"mail.shop.test": {"TXT": ['"v=spf1 -all"'], "MX": ["10 mx.shop.test."]}}

Values are in zone-file syntax. A name absent from the zone gets NXDOMAIN (unless it is an
empty non-terminal: NOERROR, no records), a present name without the type gets NOERROR with
no records, and names listed in `servfail` get SERVFAIL.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

TTL = 60
POLL_SECONDS = 0.02  # how soon the server notices a shutdown
Zone = dict[str, dict[str, list[str]]]


@dataclass
class ZoneData:
    rrsets: dict[tuple[dns.name.Name, int], dns.rrset.RRset] = field(default_factory=dict)
    names: set[dns.name.Name] = field(default_factory=set)
    servfail: set[dns.name.Name] = field(default_factory=set)
    queries: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def build(cls, zone: Zone, servfail: set[str] | None = None) -> ZoneData:
        data = cls(servfail={dns.name.from_text(name) for name in servfail or ()})
        for name, types in zone.items():
            owner = dns.name.from_text(name)
            data.names.add(owner)
            for rdtype, values in types.items():
                rrset = dns.rrset.from_text(owner, TTL, "IN", rdtype, *values)
                data.rrsets[(owner, rrset.rdtype)] = rrset
        return data

    def answer(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name, rdtype = question.name, question.rdtype
        self.queries.append((name.to_text(omit_final_dot=True), dns.rdatatype.to_text(rdtype)))
        if name in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
            return response.to_wire()
        if name not in self.names:
            if not any(owner.is_subdomain(name) for owner in self.names):
                response.set_rcode(dns.rcode.NXDOMAIN)
            return response.to_wire()
        rrset = self.rrsets.get((name, rdtype))
        cname = self.rrsets.get((name, dns.rdatatype.CNAME))
        if rrset is not None:
            response.answer.append(rrset)
        elif cname is not None:
            # An alias: give it, and its target's records when the target is in this zone.
            response.answer.append(cname)
            target = self.rrsets.get((cname[0].target, rdtype))
            if target is not None:
                response.answer.append(target)
        return response.to_wire()


class _Udp(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        wire, sock = self.request
        zone = self.server.zone  # type: ignore[attr-defined]
        sock.sendto(zone.answer(wire), self.client_address)


class _Tcp(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        header = self.request.recv(2)
        if len(header) < 2:
            return
        (length,) = struct.unpack("!H", header)
        wire = b""
        while len(wire) < length:
            chunk = self.request.recv(length - len(wire))
            if not chunk:
                return
            wire += chunk
        reply = self.server.zone.answer(wire)  # type: ignore[attr-defined]
        self.request.sendall(struct.pack("!H", len(reply)) + reply)


@dataclass
class DnsServer:
    host: str
    port: int
    zone: ZoneData

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@contextlib.contextmanager
def serve_zone(zone: Zone, *, servfail: set[str] | None = None) -> Iterator[DnsServer]:
    data = ZoneData.build(zone, servfail)
    udp = socketserver.ThreadingUDPServer(("127.0.0.1", 0), _Udp)
    udp.zone = data  # type: ignore[attr-defined]
    servers: list[socketserver.BaseServer] = [udp]
    port = udp.server_address[1]
    with contextlib.suppress(OSError):
        tcp = socketserver.ThreadingTCPServer(("127.0.0.1", port), _Tcp, bind_and_activate=False)
        tcp.allow_reuse_address = True
        tcp.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.server_bind()
        tcp.server_activate()
        tcp.zone = data  # type: ignore[attr-defined]
        servers.append(tcp)
    threads = [
        threading.Thread(target=s.serve_forever, args=(POLL_SECONDS,), daemon=True) for s in servers
    ]
    for thread in threads:
        thread.start()
    try:
        yield DnsServer("127.0.0.1", port, data)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
