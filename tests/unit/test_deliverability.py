"""The deliverability rules (RFC 7208 SPF, RFC 7489 DMARC, SES Easy DKIM and custom MAIL FROM,
RFC 8058 one-click unsubscribe) against a fake DNS given as a dict."""

from __future__ import annotations

from email import message_from_string, policy

import pytest
from comeback.domain.deliverability import (
    DKIM,
    DMARC,
    MAIL_FROM_MX,
    MAIL_FROM_SPF,
    SPF,
    UNSUBSCRIBE_HEADERS,
    DnsStatus,
    Finding,
    LookupFailed,
    SenderDomain,
    Status,
    check_dns,
    check_unsubscribe_headers,
    check_unsubscribe_signed,
    organisational_domain,
    parse_dmarc,
    passed,
    read_stack_outputs,
    recommended_records,
    sample_marketing_message,
)

DOMAIN = "mail.shop.test"
MAIL_FROM = f"bounce.{DOMAIN}"
TOKENS = ("tok1", "tok2", "tok3")
REGION = "eu-west-1"
SENDER = SenderDomain(DOMAIN, REGION, TOKENS)


def complete_zone() -> dict[tuple[str, str], list[str]]:
    zone = {
        (f"{token}._domainkey.{DOMAIN}", "CNAME"): [f"{token}.dkim.amazonses.com"]
        for token in TOKENS
    }
    zone[(MAIL_FROM, "MX")] = [f"10 feedback-smtp.{REGION}.amazonses.com"]
    zone[(MAIL_FROM, "TXT")] = ["v=spf1 include:amazonses.com ~all"]
    zone[(f"_dmarc.{DOMAIN}", "TXT")] = ["v=DMARC1; p=none; rua=mailto:dmarc@shop.test"]
    return zone


def fake_lookup(zone, failing=()):
    names = {name for name, _ in zone}

    def lookup(name: str, rdtype: str) -> list[str] | DnsStatus:
        if name in failing:
            raise LookupFailed(f"{name} {rdtype}: timed out")
        if (name, rdtype) in zone:
            return zone[(name, rdtype)]
        return DnsStatus.NO_ANSWER if name in names else DnsStatus.NXDOMAIN

    return lookup


def of(findings: list[Finding], check: str) -> list[Finding]:
    return [finding for finding in findings if finding.check == check]


def test_a_complete_zone_passes_every_check():
    findings = check_dns(SENDER, fake_lookup(complete_zone()))
    assert passed(findings)
    assert all(finding.status is Status.OK for finding in findings)
    assert len(of(findings, DKIM)) == 3


def test_each_missing_record_is_named_with_the_record_to_add():
    # Given a zone with nothing in it
    findings = check_dns(SENDER, fake_lookup({}))
    # Then nothing passes, and each required record is named with its exact value
    assert not passed(findings)
    missing = {str(f.record) for f in findings if f.status is Status.MISSING}
    assert missing == {
        "tok1._domainkey.mail.shop.test CNAME tok1.dkim.amazonses.com",
        "tok2._domainkey.mail.shop.test CNAME tok2.dkim.amazonses.com",
        "tok3._domainkey.mail.shop.test CNAME tok3.dkim.amazonses.com",
        f"{MAIL_FROM} MX 10 feedback-smtp.eu-west-1.amazonses.com",
        f"{MAIL_FROM} TXT v=spf1 include:amazonses.com ~all",
        f"_dmarc.{DOMAIN} TXT v=DMARC1; p=none; rua=mailto:dmarc-reports@{DOMAIN}",
    }
    assert {str(r) for r in recommended_records(SENDER)} == missing


def test_a_dkim_cname_to_another_target_is_wrong():
    zone = complete_zone()
    zone[(f"tok2._domainkey.{DOMAIN}", "CNAME")] = ["tok2.dkim.example.net."]
    (wrong,) = [f for f in check_dns(SENDER, fake_lookup(zone)) if not f.ok]
    assert (wrong.check, wrong.status) == (DKIM, Status.WRONG)
    assert "tok2.dkim.example.net" in wrong.summary
    assert wrong.fix == (
        f"Change the CNAME record at tok2._domainkey.{DOMAIN} to point to tok2.dkim.amazonses.com"
    )


def test_unknown_dkim_tokens_fail_the_check_and_say_how_to_get_them():
    findings = check_dns(SenderDomain(DOMAIN, REGION), fake_lookup(complete_zone()))
    (dkim,) = of(findings, DKIM)
    assert dkim.status is Status.UNKNOWN
    assert "--dkim-tokens" in dkim.fix and "--stack" in dkim.fix
    assert not passed(findings)


@pytest.mark.parametrize(
    ("records", "problem"),
    [
        (["v=spf1 include:amazonses.com ~all", "v=spf1 -all"], "permerror"),
        (["v=spf1 include:_spf.example.net ~all"], "does not include:amazonses.com"),
        (["v=spf1 include:amazonses.com +all"], "+all"),
        (["v=spf1 include:amazonses.com all"], "+all"),
        (["v=spf1 include:amazonses.com ?all"], "does not end in ~all or -all"),
        (["v=spf1 include:amazonses.com"], "does not end in ~all or -all"),
        (["v=spf1 -include:amazonses.com ~all"], "does not include"),
    ],
)
def test_spf_on_the_mail_from_domain_must_be_one_record_allowing_ses(records, problem):
    zone = complete_zone()
    zone[(MAIL_FROM, "TXT")] = records
    (spf,) = of(check_dns(SENDER, fake_lookup(zone)), MAIL_FROM_SPF)
    assert spf.status is Status.WRONG
    assert problem in spf.summary
    assert spf.fix == f"Replace the SPF records at {MAIL_FROM} with one TXT record: " + (
        "v=spf1 include:amazonses.com ~all"
    )


def test_spf_accepts_a_hard_fail_and_ignores_other_txt_records():
    zone = complete_zone()
    zone[(MAIL_FROM, "TXT")] = ["google-site-verification=x", "v=spf1 include:amazonses.com -all"]
    (spf,) = of(check_dns(SENDER, fake_lookup(zone)), MAIL_FROM_SPF)
    assert spf.ok
    # "v=spf10" is not an SPF record (RFC 7208 §4.5: the version ends at a space)
    zone[(MAIL_FROM, "TXT")] = ["v=spf10 include:amazonses.com ~all"]
    (spf,) = of(check_dns(SENDER, fake_lookup(zone)), MAIL_FROM_SPF)
    assert spf.status is Status.MISSING


def test_two_spf_records_on_the_from_domain_are_advice_not_a_failure():
    zone = complete_zone()
    zone[(DOMAIN, "TXT")] = ["v=spf1 mx -all", "v=spf1 include:_spf.example.net -all"]
    findings = check_dns(SENDER, fake_lookup(zone))
    (spf,) = of(findings, SPF)
    assert (spf.status, spf.required) == (Status.WARN, False)
    assert passed(findings)


def test_the_mail_from_mx_must_be_the_one_feedback_host_of_the_region():
    zone = complete_zone()
    zone[(MAIL_FROM, "MX")] = ["10 feedback-smtp.us-east-1.amazonses.com"]
    (mx,) = of(check_dns(SENDER, fake_lookup(zone)), MAIL_FROM_MX)
    assert mx.status is Status.WRONG
    assert "region us-east-1, but SES sends from eu-west-1" in mx.summary
    zone[(MAIL_FROM, "MX")] = [
        "10 feedback-smtp.eu-west-1.amazonses.com",
        "20 mx.shop.test",
    ]
    (mx,) = of(check_dns(SENDER, fake_lookup(zone)), MAIL_FROM_MX)
    assert mx.status is Status.WRONG
    assert "exactly one" in mx.summary


def test_dmarc_without_a_policy_is_wrong():
    zone = complete_zone()
    zone[(f"_dmarc.{DOMAIN}", "TXT")] = ["v=DMARC1; rua=mailto:dmarc@shop.test"]
    findings = check_dns(SENDER, fake_lookup(zone))
    (dmarc,) = of(findings, DMARC)
    assert dmarc.status is Status.WRONG
    assert "no p= tag" in dmarc.summary
    assert not passed(findings)


def test_dmarc_with_an_unknown_policy_is_wrong():
    zone = complete_zone()
    zone[(f"_dmarc.{DOMAIN}", "TXT")] = ["v=DMARC1; p=monitor; rua=mailto:d@shop.test"]
    (dmarc,) = of(check_dns(SENDER, fake_lookup(zone)), DMARC)
    assert dmarc.status is Status.WRONG and "p=monitor" in dmarc.summary


def test_dmarc_without_reports_is_a_warning_with_the_fix():
    zone = complete_zone()
    zone[(f"_dmarc.{DOMAIN}", "TXT")] = ["v=DMARC1; p=quarantine"]
    findings = check_dns(SENDER, fake_lookup(zone))
    policy_finding, reports = of(findings, DMARC)
    assert policy_finding.ok
    assert (reports.status, reports.required) == (Status.WARN, False)
    assert reports.fix == (
        f"Add rua=mailto:dmarc-reports@{DOMAIN} to the TXT record at _dmarc.{DOMAIN}"
    )
    assert passed(findings)


def test_strict_spf_alignment_is_flagged_because_the_mail_from_is_a_subdomain():
    zone = complete_zone()
    zone[(f"_dmarc.{DOMAIN}", "TXT")] = ["v=DMARC1; p=none; aspf=s; rua=mailto:d@shop.test"]
    (_, aspf) = of(check_dns(SENDER, fake_lookup(zone)), DMARC)
    assert aspf.status is Status.WARN
    assert "aspf=s" in aspf.summary and MAIL_FROM in aspf.summary


def test_two_dmarc_records_mean_no_dmarc():
    zone = complete_zone()
    zone[(f"_dmarc.{DOMAIN}", "TXT")] = ["v=DMARC1; p=none", "v=DMARC1; p=reject"]
    (dmarc,) = of(check_dns(SENDER, fake_lookup(zone)), DMARC)
    assert dmarc.status is Status.WRONG and "2 DMARC records" in dmarc.summary


def test_dmarc_falls_back_to_the_organisational_domain_and_says_so():
    zone = complete_zone()
    del zone[(f"_dmarc.{DOMAIN}", "TXT")]
    zone[("_dmarc.shop.test", "TXT")] = ["v=DMARC1; p=reject; sp=bogus; rua=mailto:d@shop.test"]
    (dmarc,) = of(check_dns(SENDER, fake_lookup(zone)), DMARC)
    # The subdomain inherits sp= (here invalid), not p=
    assert dmarc.status is Status.WRONG
    assert "_dmarc.shop.test (the organisational domain's record" in dmarc.summary
    assert "sp=bogus" in dmarc.summary
    zone[("_dmarc.shop.test", "TXT")] = ["v=DMARC1; p=quarantine; rua=mailto:d@shop.test"]
    (dmarc,) = of(check_dns(SENDER, fake_lookup(zone)), DMARC)
    assert dmarc.ok and "organisational domain" in dmarc.summary


def test_a_record_that_does_not_start_with_the_version_is_no_dmarc_record():
    assert parse_dmarc("p=none; v=DMARC1") is None
    assert parse_dmarc("v=DMARC2; p=none") is None
    assert parse_dmarc("v=DMARC1;p=none;rua=mailto:a@b.test") == {
        "v": "DMARC1",
        "p": "none",
        "rua": "mailto:a@b.test",
    }


@pytest.mark.parametrize(
    ("domain", "organisational"),
    [
        ("mail.shop.test", "shop.test"),
        ("shop.test", "shop.test"),
        ("news.mail.shop.co.uk", "shop.co.uk"),
        ("mail.shop.com.au", "shop.com.au"),
        ("mail.shop.de", "shop.de"),
    ],
)
def test_organisational_domain_approximation(domain, organisational):
    assert organisational_domain(domain) == organisational


def test_a_failed_lookup_is_could_not_check_not_missing():
    findings = check_dns(SENDER, fake_lookup(complete_zone(), failing={MAIL_FROM}))
    unknown = [f for f in findings if f.status is Status.UNKNOWN]
    assert {f.check for f in unknown} == {MAIL_FROM_MX, MAIL_FROM_SPF}
    assert all("could not check" in f.summary for f in unknown)
    assert not passed(findings)


def test_dkim_tokens_must_be_dns_labels():
    with pytest.raises(ValueError, match="not a DKIM token"):
        SenderDomain(DOMAIN, REGION, ["ok1", "bad.token"])
    with pytest.raises(ValueError, match="not a domain name"):
        SenderDomain("shop test", REGION)
    with pytest.raises(ValueError, match="not an AWS region"):
        SenderDomain(DOMAIN, "eu-west-1.evil.test")


def test_the_product_composer_sets_one_click_unsubscribe_headers():
    message = sample_marketing_message(SENDER, public_base_url="https://api.shop.test/")
    (finding,) = check_unsubscribe_headers(message, source="sample")
    assert finding.ok
    assert message["List-Unsubscribe"].startswith("<https://api.shop.test/v1/unsubscribe?t=")


def test_a_message_without_one_click_headers_is_named():
    message = message_from_string(
        "From: a@shop.test\nList-Unsubscribe: <mailto:u@shop.test>\n\nbody\n",
        policy=policy.default,
    )
    findings = check_unsubscribe_headers(message, source="m.eml")
    assert [f.status for f in findings] == [Status.MISSING, Status.MISSING]
    assert all(f.check == UNSUBSCRIBE_HEADERS for f in findings)
    assert "no https URI" in findings[0].summary
    assert "List-Unsubscribe-Post is missing" in findings[1].summary


def test_a_received_message_should_be_dkim_signed_over_both_headers():
    headers = (
        "List-Unsubscribe: <https://api.shop.test/v1/unsubscribe?t=x>\n"
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n"
    )
    signed = (
        "DKIM-Signature: v=1; a=rsa-sha256; d=mail.shop.test; s=tok1;\n"
        " h=From:To:Subject:List-Unsubscribe:\n List-Unsubscribe-Post; bh=x; b=y\n"
    )
    good = message_from_string(signed + headers + "\nbody\n", policy=policy.default)
    assert check_unsubscribe_signed(good, source="m").ok
    unsigned = message_from_string(headers + "\nbody\n", policy=policy.default)
    finding = check_unsubscribe_signed(unsigned, source="m")
    assert (finding.status, finding.required) == (Status.WARN, False)


def test_stack_outputs_give_the_tokens_region_and_report_address():
    found = read_stack_outputs(
        {
            "DnsRecordDkim1": f"aaa._domainkey.{DOMAIN} CNAME aaa.dkim.amazonses.com",
            "DnsRecordDkim2": f"bbb._domainkey.{DOMAIN} CNAME bbb.dkim.amazonses.com",
            "DnsRecordDkim3": f"ccc._domainkey.{DOMAIN} CNAME ccc.dkim.amazonses.com",
            "DnsRecordMailFromMx": f"{MAIL_FROM} MX 10 feedback-smtp.ap-south-1.amazonses.com",
            "DnsRecordDmarc": f'_dmarc.{DOMAIN} TXT "v=DMARC1; p=none; rua=mailto:r@shop.test"',
            "ApiUrl": "https://abc.execute-api.ap-south-1.amazonaws.com",
        }
    )
    assert found.tokens == ("aaa", "bbb", "ccc")
    assert found.region == "ap-south-1"
    assert found.report_address == "r@shop.test"
    assert found.api_url == "https://abc.execute-api.ap-south-1.amazonaws.com"
