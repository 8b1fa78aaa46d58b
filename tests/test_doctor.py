"""`advocacy doctor`: the sender's domain against a DNS server of the test's own (on
127.0.0.1, answering from a dict; never the network) and the relay against aiosmtpd."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from advocacy import create_app
from advocacy.delivery.sink import free_port
from advocacy.doctor.checks import FAIL, OK, WARN, Check
from advocacy.doctor.domain import check_dkim, check_dmarc, check_domain, check_mx, check_spf
from advocacy.doctor.domain import resolver as make_resolver
from advocacy.doctor.relay import check_relay

from helpers import ONE_DATABASE, TlsRelay

RELAY_HOST = "relay.campaign.test"
Records = dict[tuple[str, str], list[str]]


def txt(value: str) -> str:
    """A TXT record's text in zone-file form, in strings of at most 255 characters."""
    return " ".join(f'"{value[i:i + 255]}"' for i in range(0, len(value), 255))


class DnsServer:
    """A tiny authoritative DNS server on 127.0.0.1 answering from `records`:
    (name, type) -> values in zone-file form. Other names are NXDOMAIN."""

    def __init__(self) -> None:
        self.records: Records = {}
        self.questions: list[tuple[str, str]] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                wire, client = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(wire)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text(omit_final_dot=True).lower()
            kind = dns.rdatatype.to_text(question.rdtype)
            self.questions.append((name, kind))
            values = self.records.get((name, kind))
            if values:
                response.answer.append(dns.rrset.from_text_list(
                    question.name, 300, "IN", kind, values))
            elif not any(known == name for known, _ in self.records):
                response.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(response.to_wire(), client)

    def stop(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


def dkim_key(bits: int = 2048) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    der = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


KEY_2048 = dkim_key()

# A domain ready to go live: letters from letters@campaign.test, bounces and replies to
# the same domain, the relay covered by SPF through an include, DKIM selector "mail".
GOOD: Records = {
    ("campaign.test", "TXT"): [txt("v=spf1 include:spf.provider.test -all"),
                               txt("google-site-verification=abc")],
    ("spf.provider.test", "TXT"): [txt("v=spf1 ip4:192.0.2.0/24 ~all")],
    (RELAY_HOST, "A"): ["192.0.2.25"],
    ("mail._domainkey.campaign.test", "TXT"): [txt(f"v=DKIM1; k=rsa; p={KEY_2048}")],
    ("_dmarc.campaign.test", "TXT"): [
        txt("v=DMARC1; p=quarantine; rua=mailto:dmarc@campaign.test")],
    ("campaign.test", "MX"): ["10 mx.campaign.test."],
}


@pytest.fixture(autouse=True)
def _dns_only_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """A check that forgot --resolver would ask the system's resolvers: fail instead."""
    for name in ("udp", "tcp"):
        original = getattr(dns.query, name)

        def guarded(q: Any, where: str, *args: Any, _original: Any = original,
                    **kwargs: Any) -> Any:
            if where != "127.0.0.1":
                raise AssertionError(f"a test asked the DNS server at {where}")
            return _original(q, where, *args, **kwargs)

        monkeypatch.setattr(dns.query, name, guarded)


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    server = DnsServer()
    server.records = dict(GOOD)
    yield server
    server.stop()


@pytest.fixture
def res(dns_server: DnsServer) -> Any:
    return make_resolver(dns_server.address)


def statuses(checks: list[Check]) -> dict[str, str]:
    return {check.name: check.status for check in checks}


def only(checks: list[Check]) -> Check:
    assert len(checks) == 1, checks
    return checks[0]


# --- SPF ---------------------------------------------------------------------------------

def test_spf_that_covers_the_relay_through_an_include_is_ok(res: Any) -> None:
    check = only(check_spf(res, "campaign.test", RELAY_HOST))
    assert check.status == OK and "v=spf1 include:spf.provider.test -all" in check.found
    assert check.fix == ""


def test_no_spf_record_fails_and_says_what_to_publish(res: Any, dns_server: DnsServer) -> None:
    dns_server.records[("campaign.test", "TXT")] = [txt("google-site-verification=abc")]
    check = only(check_spf(res, "campaign.test", RELAY_HOST))
    assert check.status == FAIL
    assert f"Add a TXT record at campaign.test: v=spf1 a:{RELAY_HOST} ~all" in check.fix


@pytest.mark.parametrize(("record", "status", "words"), [
    ("v=spf1 +all", FAIL, "anyone may send"),
    ("v=spf1 ip4:192.0.2.25 all", FAIL, "anyone may send"),
    ("v=spf1 ip4:192.0.2.25 ?all", WARN, "?all"),
    ("v=spf1 ip4:192.0.2.25", WARN, "no all"),
    ("v=spf1 ip4:198.51.100.7 -all", WARN, "does not cover the relay"),
    ("v=spf1 ip4:192.0.2.0/27 ~all", OK, "one SPF record"),
    ("v=spf1 ip4:192.0.2.0/28 ~all", WARN, "does not cover the relay"),
    ("v=spf1 a:relay.campaign.test -all", OK, "one SPF record"),
    ("v=spf1 mx -all", WARN, "does not cover the relay"),
    ("v=spf1 exists:%{i}.spf.campaign.test -all", WARN, "Could not tell"),
    ("v=spf1 ip4:300.1.1.1 -all", FAIL, "cannot read"),
])
def test_spf_record_endings_and_coverage(res: Any, dns_server: DnsServer, record: str,
                                         status: str, words: str) -> None:
    dns_server.records[("campaign.test", "TXT")] = [txt(record)]
    dns_server.records[("mx.campaign.test", "A")] = ["203.0.113.9"]
    checks = check_spf(res, "campaign.test", RELAY_HOST)
    worst = max(checks, key=lambda c: [OK, WARN, FAIL].index(c.status))
    assert worst.status == status and words in worst.found, checks
    assert (worst.fix == "") == (status == OK)


def test_two_spf_records_fail(res: Any, dns_server: DnsServer) -> None:
    dns_server.records[("campaign.test", "TXT")] = [txt("v=spf1 -all"), txt("v=spf1 mx -all")]
    check = only(check_spf(res, "campaign.test", RELAY_HOST))
    assert check.status == FAIL and "Merge them into one" in check.fix


def test_spf_is_read_at_the_return_path_domain(res: Any, dns_server: DnsServer) -> None:
    dns_server.records[("bounces.campaign.test", "TXT")] = [txt("v=spf1 ip4:192.0.2.25 -all")]
    check_spf(res, "bounces.campaign.test", RELAY_HOST)
    assert ("bounces.campaign.test", "TXT") in dns_server.questions


def test_more_than_ten_spf_lookups_fail(res: Any, dns_server: DnsServer) -> None:
    chain = [f"s{i}.provider.test" for i in range(12)]
    dns_server.records[("campaign.test", "TXT")] = [
        txt("v=spf1 " + " ".join(f"include:{name}" for name in chain) + " -all")]
    for name in chain:
        dns_server.records[(name, "TXT")] = [txt("v=spf1 ip4:192.0.2.25 -all")]
    check = only(check_spf(res, "campaign.test", RELAY_HOST))
    assert check.status == FAIL and "12 DNS lookups" in check.found


# --- DKIM --------------------------------------------------------------------------------

def test_a_published_2048_bit_key_is_ok(res: Any) -> None:
    check = check_dkim(res, "campaign.test", "mail")
    assert check.status == OK and "2048-bit RSA key" in check.found


def test_no_selector_is_a_warning_that_says_where_to_find_it(res: Any) -> None:
    check = check_dkim(res, "campaign.test", None)
    assert check.status == WARN and "--dkim-selector" in check.fix


@pytest.mark.parametrize(("record", "status", "words"), [
    (None, FAIL, "has no DKIM key"),
    ("v=DKIM1; k=rsa; p=", FAIL, "revoked"),
    ("v=DKIM2; p=" + KEY_2048, FAIL, "not v=DKIM1"),
    ("v=DKIM1; p=not*base64", FAIL, "not base64"),
    ("v=DKIM1; p=" + base64.b64encode(b"not a key").decode(), FAIL, "not a public key"),
    ("v=DKIM1; k=rsa; p=" + dkim_key(1024), WARN, "1024-bit"),
])
def test_dkim_records_that_are_wrong(res: Any, dns_server: DnsServer, record: str | None,
                                     status: str, words: str) -> None:
    name = ("mail._domainkey.campaign.test", "TXT")
    if record is None:
        del dns_server.records[name]
    else:
        dns_server.records[name] = [txt(record)]
    check = check_dkim(res, "campaign.test", "mail")
    assert check.status == status and words in check.found
    assert "mail._domainkey.campaign.test" in check.fix


# --- DMARC -------------------------------------------------------------------------------

def test_dmarc_with_aligned_spf_and_dkim_is_ok(res: Any) -> None:
    checks = check_dmarc(res, "campaign.test", "campaign.test", "campaign.test")
    assert statuses(checks) == {"dmarc": OK, "dmarc-alignment": OK}
    assert "policy quarantine" in checks[0].found
    assert "SPF (Return-Path campaign.test) and DKIM (d=campaign.test)" in checks[1].found


def test_no_dmarc_record_fails_with_the_record_to_add(res: Any, dns_server: DnsServer) -> None:
    del dns_server.records[("_dmarc.campaign.test", "TXT")]
    check = only(check_dmarc(res, "campaign.test", "campaign.test", None))
    assert check.status == FAIL
    assert check.fix.startswith("Add a TXT record at _dmarc.campaign.test: v=DMARC1; p=none;"
                                " rua=mailto:")


def test_dmarc_of_the_organisational_domain_counts(res: Any, dns_server: DnsServer) -> None:
    checks = check_dmarc(res, "news.campaign.test", "news.campaign.test", None)
    assert statuses(checks) == {"dmarc": OK, "dmarc-alignment": OK}
    assert checks[0].found.startswith("_dmarc.campaign.test")


def test_dmarc_without_a_report_address_is_a_warning(res: Any, dns_server: DnsServer) -> None:
    dns_server.records[("_dmarc.campaign.test", "TXT")] = [txt("v=DMARC1; p=reject")]
    check = check_dmarc(res, "campaign.test", "campaign.test", None)[0]
    assert check.status == WARN and "rua=mailto:" in check.fix


def test_dmarc_without_a_policy_fails(res: Any, dns_server: DnsServer) -> None:
    dns_server.records[("_dmarc.campaign.test", "TXT")] = [txt("v=DMARC1; rua=mailto:x@y.test")]
    check = only(check_dmarc(res, "campaign.test", "campaign.test", None))
    assert check.status == FAIL and "p=none" in check.fix


def test_return_path_elsewhere_and_no_dkim_is_not_aligned(res: Any) -> None:
    checks = check_dmarc(res, "campaign.test", "replies.other.test", None)
    alignment = checks[1]
    assert alignment.status == FAIL and "ADVOCACY_REPLY_DOMAIN" in alignment.fix


def test_dkim_alone_can_align(res: Any) -> None:
    checks = check_dmarc(res, "campaign.test", "replies.other.test", "campaign.test")
    assert statuses(checks)["dmarc-alignment"] == OK


def test_strict_spf_alignment_wants_the_very_domain(res: Any, dns_server: DnsServer) -> None:
    dns_server.records[("_dmarc.campaign.test", "TXT")] = [
        txt("v=DMARC1; p=reject; aspf=s; rua=mailto:d@campaign.test")]
    relaxed_would_pass = check_dmarc(res, "campaign.test", "bounces.campaign.test", None)
    assert relaxed_would_pass[1].status == FAIL and "aspf=s" in relaxed_would_pass[1].fix


# --- MX and the whole domain -------------------------------------------------------------

def test_mx_for_bounces_and_replies(res: Any, dns_server: DnsServer) -> None:
    assert check_mx(res, "campaign.test").status == OK
    del dns_server.records[("campaign.test", "MX")]
    missing = check_mx(res, "campaign.test")
    assert missing.status == FAIL and "advocacy inbound" in missing.fix
    dns_server.records[("campaign.test", "MX")] = ["0 ."]
    assert "null MX" in check_mx(res, "campaign.test").found


def test_a_ready_domain_passes_every_check(res: Any) -> None:
    checks = check_domain(res, from_domain="campaign.test", bounce_domain="campaign.test",
                          relay_host=RELAY_HOST, dkim_selector="mail")
    assert statuses(checks) == {"spf": OK, "dkim": OK, "dmarc": OK, "dmarc-alignment": OK,
                                "mx": OK}


def test_dns_that_does_not_answer_is_a_failure_not_a_crash(dns_server: DnsServer) -> None:
    dns_server.stop()  # the port stays known, nobody answers
    res = make_resolver(dns_server.address)
    res.lifetime = 0.5
    checks = check_domain(res, from_domain="campaign.test", bounce_domain="campaign.test",
                          relay_host=None, dkim_selector=None)
    assert statuses(checks) == {"dns": FAIL}


# --- the relay ---------------------------------------------------------------------------

RETURN_PATH = "bounce+test-0-0123456789abcdef0123@campaign.test"


def relay_checks(url: str, send_to: str | None = None, mode: str = "live") -> list[Check]:
    return check_relay(url, mode=mode, test_hosts=set(), sender="letters@campaign.test",
                       return_path=RETURN_PATH, send_to=send_to)


def test_tls_login_and_a_test_message(relay: TlsRelay, trust: None) -> None:
    checks = relay_checks(relay.url(), send_to="me@example.org")
    assert statuses(checks) == {"mode": OK, "relay-connect": OK, "relay-tls": OK,
                                "relay-auth": OK, "relay-test": OK}, checks
    assert "certificate valid until" in checks[2].found
    assert "250" in checks[-1].found  # the server's own answer
    [received] = relay.handler.received
    assert received.mail_from == RETURN_PATH and received.rcpt_tos == ["me@example.org"]
    msg = message_from_bytes(received.data)
    assert msg["Message-ID"].endswith("@campaign.test>") and msg["Date"]
    assert msg["From"] == "letters@campaign.test"


def test_without_send_test_nothing_is_sent(relay: TlsRelay, trust: None) -> None:
    assert "relay-test" not in statuses(relay_checks(relay.url()))
    assert relay.handler.received == []


def test_a_wrong_password_fails_auth_and_sends_nothing(relay: TlsRelay, trust: None) -> None:
    checks = relay_checks(relay.url("wrong"), send_to="me@example.org")
    auth = checks[-1]
    assert auth.name == "relay-auth" and auth.status == FAIL and "535" in auth.found
    assert "password in SMTP_URL" in auth.fix
    assert relay.handler.received == []


def test_an_untrusted_certificate_fails_tls(relay: TlsRelay) -> None:
    checks = relay_checks(relay.url(), send_to="me@example.org")
    assert statuses(checks)["relay-tls"] == FAIL
    assert "not valid" in checks[-1].found and "relay-auth" not in statuses(checks)
    assert relay.handler.received == []


def test_starttls_offered_but_not_asked_for_fails(relay: TlsRelay, trust: None) -> None:
    if relay.scheme == "smtps":
        pytest.skip("implicit TLS has nothing to ask for")
    checks = relay_checks(relay.url(starttls=False))
    tls = next(c for c in checks if c.name == "relay-tls")
    assert tls.status == FAIL and tls.fix == "Add ?starttls=1 to SMTP_URL."


def test_a_refused_test_message_reports_the_relay_s_answer(relay: TlsRelay, trust: None) -> None:
    relay.handler.rcpt_reply = lambda address: "550 5.7.1 sender domain not verified"
    checks = relay_checks(relay.url(), send_to="me@example.org")
    assert checks[-1].status == FAIL and "550 5.7.1 sender domain not verified" in checks[-1].found


def test_nothing_listening_fails_connect() -> None:
    checks = relay_checks(f"smtp://127.0.0.1:{free_port()}")
    assert statuses(checks)["relay-connect"] == FAIL and "port" in checks[-1].fix


def test_the_sink_is_not_a_relay() -> None:
    checks = relay_checks("sink", mode="test")
    assert statuses(checks) == {"mode": WARN, "relay-connect": FAIL}


def test_test_mode_never_reaches_beyond_loopback() -> None:
    """The configuration refuses it already; the doctor checks again and connects nowhere
    (the autouse guard in conftest would fail the test if it tried)."""
    checks = relay_checks("smtp://smtp.example.org:587", send_to="me@example.org", mode="test")
    assert statuses(checks)["relay-connect"] == FAIL and "ADVOCACY_MODE=test" in checks[-1].found


# --- the command -------------------------------------------------------------------------

@pytest.fixture
def doctor_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, relay: TlsRelay) -> Any:
    """No database made: the doctor runs before `advocacy init` too."""
    monkeypatch.setenv("ADVOCACY_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/a.db",
                       "SMTP_URL": relay.url(), "ADVOCACY_SENDER": "letters@campaign.test"})


def test_the_command_passes_a_ready_setup(doctor_app: Any, dns_server: DnsServer, relay: TlsRelay,
                                          trust: None) -> None:
    result = doctor_app.test_cli_runner().invoke(args=[
        "doctor", "--resolver", dns_server.address, "--dkim-selector", "mail",
        "--send-test", "me@example.org"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[:2] for line in lines if not line.startswith(" ")] == [
        ["ok", "spf"], ["ok", "dkim"], ["ok", "dmarc"], ["ok", "dmarc-alignment"], ["ok", "mx"],
        ["warn", "mode"], ["ok", "relay-connect"], ["ok", "relay-tls"], ["ok", "relay-auth"],
        ["ok", "relay-test"]]
    assert "fix: Set ADVOCACY_MODE=live" in result.output
    [received] = relay.handler.received
    assert received.mail_from.startswith("bounce+test-0-")
    assert received.mail_from.endswith("@campaign.test")


def test_the_command_fails_and_says_why_in_json(doctor_app: Any, dns_server: DnsServer,
                                               relay: TlsRelay, trust: None) -> None:
    del dns_server.records[("_dmarc.campaign.test", "TXT")]
    result = doctor_app.test_cli_runner().invoke(args=[
        "doctor", "--resolver", dns_server.address, "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["failed"] is True
    dmarc = next(c for c in report["checks"] if c["name"] == "dmarc")
    assert dmarc["status"] == "fail" and "v=DMARC1; p=none" in dmarc["fix"]
    assert {c["name"]: c["status"] for c in report["checks"]}["dkim"] == "warn"


@ONE_DATABASE
def test_campaigns_own_senders_are_checked_too(app: Any) -> None:
    from advocacy.doctor.examine import senders
    from advocacy.extensions import db
    from advocacy.models import Campaign

    campaign = db.session.scalars(db.select(Campaign)).first()
    campaign.sender = "Letters@Other-Campaign.test"
    db.session.commit()
    assert senders() == ["letters@campaign.test", "letters@other-campaign.test"]


def test_the_default_sender_has_no_domain_to_check(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVOCACY_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/a.db"})
    result = app.test_cli_runner().invoke(args=["doctor", "--json",
                                                "--resolver", "127.0.0.1:9"])
    assert result.exit_code == 1
    checks = {c["name"]: c for c in json.loads(result.output)["checks"]}
    assert checks["sender"]["status"] == "fail" and "ADVOCACY_SENDER" in checks["sender"]["fix"]
    assert "spf" not in checks  # nothing asked of DNS
    assert checks["relay-connect"]["status"] == "fail"  # SMTP_URL=sink
