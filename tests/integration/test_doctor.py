"""`comeback doctor` end to end: the real CLI entry and the dnspython adapter, asking only a DNS
server this test starts on 127.0.0.1 (never the system resolver), and moto's server on
127.0.0.1 for the SES identity."""

from __future__ import annotations

import json

import boto3
import pytest
from comeback.adapters.dns_lookup import DnsLookup, parse_nameserver
from comeback.cli import main
from comeback.domain.deliverability import DnsStatus, LookupFailed
from moto.server import ThreadedMotoServer

from tests.dns_server import Zone, serve_zone

DOMAIN = "mail.shop.test"
MAIL_FROM = f"bounce.{DOMAIN}"
TOKENS = ["q6m4f5tj2xyzkj2g3hx6bdwmlx7skq4a", "fcm4w5l3rgp2k3vxd6nqk7o2sbvbvt3c", "t3st7ok3n"]
REGION = "eu-west-1"
REPORTS = "dmarc-reports@shop.test"


def complete_zone() -> Zone:
    zone: Zone = {
        f"{token}._domainkey.{DOMAIN}": {"CNAME": [f"{token}.dkim.amazonses.com."]}
        for token in TOKENS
    }
    zone[MAIL_FROM] = {
        "MX": [f"10 feedback-smtp.{REGION}.amazonses.com."],
        "TXT": ['"v=spf1 include:amazonses.com ~all"'],
    }
    zone[DOMAIN] = {"TXT": ['"some-site-verification=abc"']}
    zone[f"_dmarc.{DOMAIN}"] = {"TXT": [f'"v=DMARC1; p=none; rua=mailto:{REPORTS}"']}
    return zone


def doctor(server, *extra: str) -> list[str]:
    return [
        "doctor",
        DOMAIN,
        "--nameserver",
        server.address,
        "--region",
        REGION,
        *extra,
    ]


def test_a_complete_zone_passes(capsys):
    # Given a zone with every record the stack printed, and a DMARC record
    with serve_zone(complete_zone()) as server:
        # When the doctor checks it
        code = main(doctor(server, "--dkim-tokens", ",".join(TOKENS)))
    out = capsys.readouterr().out
    # Then every check is OK and it exits 0
    assert code == 0, out
    lines = [line for line in out.splitlines() if line.split(" ", 1)[0].isupper()]
    checks = [line.split()[1] for line in lines if not line.startswith("READY")]
    assert checks.count("dkim") == 3
    assert {"mail_from_mx", "mail_from_spf", "dmarc", "unsubscribe_headers"} <= set(checks)
    assert all(line.startswith("OK ") for line in lines[:-1]), out
    assert lines[-1].startswith("READY")
    # And it asked our server for the records, nothing else
    assert (f"_dmarc.{DOMAIN}", "TXT") in server.zone.queries


def test_a_zone_without_dmarc_names_the_missing_record_and_the_fix(capsys):
    zone = complete_zone()
    del zone[f"_dmarc.{DOMAIN}"]
    with serve_zone(zone) as server:
        code = main(doctor(server, "--dkim-tokens", ",".join(TOKENS)))
    out = capsys.readouterr().out
    assert code == 1, out
    looked = f"no DMARC record at _dmarc.{DOMAIN} or _dmarc.shop.test"
    assert f"MISSING  dmarc                {looked}" in out
    expected = f"v=DMARC1; p=none; rua=mailto:dmarc-reports@{DOMAIN}"
    assert f"record: _dmarc.{DOMAIN} TXT {expected}" in out
    assert f"fix:    Add a TXT record at _dmarc.{DOMAIN}: {expected}" in out
    assert "NOT READY: 1 required check(s) failed" in out
    # Both the From domain and its organisational domain were asked (RFC 7489 §6.6.3)
    assert ("_dmarc.shop.test", "TXT") in server.zone.queries


def test_a_missing_dkim_cname_and_mail_from_mx_are_each_named(capsys):
    zone = complete_zone()
    del zone[f"{TOKENS[1]}._domainkey.{DOMAIN}"]
    del zone[MAIL_FROM]["MX"]
    with serve_zone(zone) as server:
        code = main(doctor(server, "--dkim-tokens", ",".join(TOKENS), "--json"))
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["passed"] is False
    failing = {
        (f["check"], f["status"], f["record"]["name"], f["record"]["value"])
        for f in report["findings"]
        if not f["ok"]
    }
    assert failing == {
        (
            "dkim",
            "MISSING",
            f"{TOKENS[1]}._domainkey.{DOMAIN}",
            f"{TOKENS[1]}.dkim.amazonses.com",
        ),
        ("mail_from_mx", "MISSING", MAIL_FROM, f"10 feedback-smtp.{REGION}.amazonses.com"),
    }
    fixes = [f["fix"] for f in report["findings"] if not f["ok"]]
    assert f"Add an MX record at {MAIL_FROM}: 10 feedback-smtp.{REGION}.amazonses.com" in fixes


def test_an_eml_without_one_click_headers_fails(capsys, tmp_path):
    eml = tmp_path / "received.eml"
    eml.write_text(
        "From: hello@mail.shop.test\nTo: a@shop.test\nSubject: hi\n"
        "List-Unsubscribe: <mailto:unsubscribe@mail.shop.test>\n\nbody\n"
    )
    with serve_zone(complete_zone()) as server:
        code = main(doctor(server, "--dkim-tokens", ",".join(TOKENS), "--eml", str(eml)))
    out = capsys.readouterr().out
    assert code == 1
    assert "received.eml: no https URI in List-Unsubscribe" in out
    assert "received.eml: List-Unsubscribe-Post is missing" in out


def test_servfail_is_reported_as_could_not_check(capsys):
    with serve_zone(complete_zone(), servfail={f"_dmarc.{DOMAIN}"}) as server:
        code = main(doctor(server, "--dkim-tokens", ",".join(TOKENS)))
    out = capsys.readouterr().out
    assert code == 1
    assert "UNKNOWN  dmarc                could not check" in out
    assert "MISSING" not in out


def test_the_adapter_tells_nxdomain_from_no_answer_and_reads_each_type():
    zone = complete_zone()
    zone["long.shop.test"] = {"TXT": ['"v=spf1 include:amazonses.com " "~all"']}
    with serve_zone(zone) as server:
        lookup = DnsLookup([(server.host, server.port)])
        assert lookup("nothing-here.shop.test", "TXT") is DnsStatus.NXDOMAIN
        assert lookup(DOMAIN, "MX") is DnsStatus.NO_ANSWER
        # An empty non-terminal exists: no records, but no NXDOMAIN either
        assert lookup(f"_domainkey.{DOMAIN}", "CNAME") is DnsStatus.NO_ANSWER
        assert lookup(MAIL_FROM, "MX") == [f"10 feedback-smtp.{REGION}.amazonses.com"]
        assert lookup(f"{TOKENS[0]}._domainkey.{DOMAIN}", "CNAME") == [
            f"{TOKENS[0]}.dkim.amazonses.com"
        ]
        # RFC 7208 §3.3: the strings of one TXT record are joined with nothing between them
        assert lookup("long.shop.test", "TXT") == ["v=spf1 include:amazonses.com ~all"]
    # And a server that is gone is "could not check", quickly
    with pytest.raises(LookupFailed):
        DnsLookup([(server.host, server.port)], timeout=0.2, lifetime=0.5)(DOMAIN, "TXT")


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("[::1]:5353", ("::1", 5353)),
        ("::1", ("::1", 53)),
    ],
)
def test_nameserver_addresses(text, parsed):
    assert parse_nameserver(text) == parsed


def test_a_bad_nameserver_or_token_is_a_usage_error(capsys):
    assert main(["doctor", DOMAIN, "--nameserver", "127.0.0.1:99999", "--region", REGION]) == 2
    assert main(["doctor", DOMAIN, "--dkim-tokens", "a.b", "--nameserver", "127.0.0.1"]) == 2
    assert "not a DKIM token" in capsys.readouterr().err


@pytest.fixture
def moto_ses(monkeypatch):
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    yield boto3.client("sesv2", region_name=REGION)
    server.stop()


def test_from_ses_asks_the_identity_and_says_when_it_has_no_tokens(moto_ses, capsys):
    # Given the identity as the stack creates it, in moto's SES (which lists no DKIM tokens)
    moto_ses.create_email_identity(
        EmailIdentity=DOMAIN, DkimSigningAttributes={"NextSigningKeyLength": "RSA_2048_BIT"}
    )
    with serve_zone(complete_zone()) as server:
        code = main(["doctor", DOMAIN, "--nameserver", server.address, "--from-ses"])
    out = capsys.readouterr().out
    # Then the region comes from the AWS configuration, and DKIM is reported as not checked
    assert f"SES region {REGION}" in out
    assert "UNKNOWN  dkim" in out and "--dkim-tokens" in out
    assert code == 1


def test_from_ses_with_an_unknown_identity_is_a_clear_error(moto_ses, capsys):
    with serve_zone(complete_zone()) as server:
        code = main(["doctor", "other.shop.test", "--nameserver", server.address, "--from-ses"])
    assert code == 2
    assert "could not read the stack or SES identity" in capsys.readouterr().err
