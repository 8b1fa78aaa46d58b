"""The relay SMTP_URL names: it answers, offers TLS with a valid certificate, takes our
login, and, when asked, accepts a test message. smtplib's own client, not delivery's
Transport: that one folds every failure into one RelayError, and here each step's own
answer is what the organizer needs to read."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from advocacy.config import LOOPBACK_HOSTS, ConfigError, check_mail_safety
from advocacy.doctor.checks import FAIL, OK, WARN, Check

TIMEOUT = 15.0  # seconds for each step of the conversation
URL_EXAMPLE = "smtp://user:password@smtp.example.org:587?starttls=1"


def _answer(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(
        exc.smtp_error, bytes) else str(exc.smtp_error)
    return f"{exc.smtp_code} {text}".strip()


def _certificate(smtp: smtplib.SMTP) -> str:
    sock = smtp.sock
    if not isinstance(sock, ssl.SSLSocket):
        return ""
    cert = sock.getpeercert() or {}
    return f"{sock.version()}, certificate valid until {cert.get('notAfter', '?')}"


def _connect(url: str, host: str, port: int | None) -> tuple[smtplib.SMTP | None, list[Check]]:
    """Connect and secure the connection; the client (None if that failed) and the checks."""
    parts = urlsplit(url)
    starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true", "yes")
    context = ssl.create_default_context()
    where = f"{host}:{port or (465 if parts.scheme == 'smtps' else 25)}"
    bad_certificate = ("Give the relay a certificate from a public authority for its name, or"
                       f" use its name as it appears on its certificate in SMTP_URL ({where}).")
    smtp: smtplib.SMTP
    try:
        if parts.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(host, port or 465, timeout=TIMEOUT, context=context)
        else:
            smtp = smtplib.SMTP(host, port or 25, timeout=TIMEOUT)
    except ssl.SSLCertVerificationError as exc:
        return None, [Check("relay-connect", OK, f"{where} answers."),
                      Check("relay-tls", FAIL, f"The certificate of {where} is not valid:"
                            f" {exc.verify_message}.", bad_certificate)]
    except (OSError, smtplib.SMTPException) as exc:
        return None, [Check("relay-connect", FAIL, f"Could not reach the relay at {where}"
                            f" ({type(exc).__name__}: {exc}).",
                            "Check the host and port in SMTP_URL, and that this machine may"
                            " connect out to it (firewalls often block port 25).")]
    checks = [Check("relay-connect", OK, f"{where} answers.")]
    if parts.scheme == "smtps":
        checks.append(Check("relay-tls", OK, f"Implicit TLS: {_certificate(smtp)}."))
        return smtp, checks
    smtp.ehlo()
    offered = smtp.has_extn("starttls")
    if starttls and not offered:
        checks.append(Check("relay-tls", FAIL, f"{where} does not offer STARTTLS.",
                            f"Use the relay's TLS port (e.g. {URL_EXAMPLE}, or smtps://…:465)."))
    elif starttls:
        try:
            smtp.starttls(context=context)
        except ssl.SSLCertVerificationError as exc:
            smtp.close()
            checks.append(Check("relay-tls", FAIL, f"The certificate of {where} is not valid:"
                                f" {exc.verify_message}.", bad_certificate))
            return None, checks
        checks.append(Check("relay-tls", OK, f"STARTTLS: {_certificate(smtp)}."))
    elif offered:
        checks.append(Check("relay-tls", FAIL, f"{where} offers STARTTLS but SMTP_URL does not"
                            " ask for it, so passwords and letters would cross in clear.",
                            "Add ?starttls=1 to SMTP_URL."))
    elif host in LOOPBACK_HOSTS:
        checks.append(Check("relay-tls", WARN, f"No TLS to {where}: fine for a catcher on this"
                            " machine, not for a relay.", f"Point SMTP_URL at your relay:"
                            f" {URL_EXAMPLE}."))
    else:
        checks.append(Check("relay-tls", FAIL, f"{where} offers no TLS.",
                            f"Use a relay with TLS: {URL_EXAMPLE}, or smtps://…:465."))
    return smtp, checks


def _login(smtp: smtplib.SMTP, user: str, password: str) -> Check:
    smtp.ehlo_or_helo_if_needed()
    if not user:
        if smtp.has_extn("auth"):
            return Check("relay-auth", WARN, "SMTP_URL has no user, though the relay offers"
                         " AUTH.", f"Put the relay's user and password in SMTP_URL:"
                         f" {URL_EXAMPLE}.")
        return Check("relay-auth", WARN, "No login: the relay must trust this machine's"
                     " address.", "If it does not, ask for a user and password and put them in"
                     f" SMTP_URL: {URL_EXAMPLE}.")
    try:
        smtp.login(user, password)
    except smtplib.SMTPAuthenticationError as exc:
        return Check("relay-auth", FAIL, f"The relay refused the login as {user}:"
                     f" {_answer(exc)}.", "Check the user and password in SMTP_URL (write"
                     " characters such as @ : / % in the password as %40 %3A %2F %25).")
    except smtplib.SMTPNotSupportedError:
        return Check("relay-auth", FAIL, "The relay offers no AUTH on this connection.",
                     "Use the relay's submission port with TLS, where it offers AUTH:"
                     f" {URL_EXAMPLE}.")
    return Check("relay-auth", OK, f"Logged in as {user}.")


def trial_message(sender: str, recipient: str) -> EmailMessage:
    """A message built as letters are: From, To, Date, Message-ID at the sender's domain."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = "advocacy doctor: test message"
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    msg.set_content(
        f"`advocacy doctor` sent this message through the relay of {sender}.\n\n"
        "Look at its headers where it arrived: Authentication-Results should say spf=pass,\n"
        "dkim=pass and dmarc=pass. Nothing else to do.\n")
    return msg


def _send(smtp: smtplib.SMTP, msg: EmailMessage, return_path: str, recipient: str) -> Check:
    try:
        smtp.ehlo_or_helo_if_needed()
        code, text = smtp.mail(return_path)
        if code < 400:
            code, text = smtp.rcpt(recipient)
        if code < 400:
            code, text = smtp.data(msg.as_bytes())  # raises for a refusal of its own
        if code >= 400:
            raise smtplib.SMTPResponseException(code, text)
    except smtplib.SMTPResponseException as exc:
        return Check("relay-test", FAIL, f"The relay refused the test to {recipient}:"
                     f" {_answer(exc)}.", "Read the relay's answer: often the sender's domain is"
                     " not verified with the relay, or the account may not send as it.")
    except (OSError, smtplib.SMTPException) as exc:
        return Check("relay-test", FAIL, f"The relay hung up during the test ({exc}).",
                     "Run again; if it persists, ask the relay's provider.")
    answer = f"{code} {text.decode('utf-8', 'replace')}".strip()
    return Check("relay-test", OK, f"The relay accepted the test to {recipient}: {answer}."
                 " Check its Authentication-Results header there (spf, dkim and dmarc=pass).")


def check_relay(smtp_url: str, *, mode: str, test_hosts: set[str], sender: str,
                return_path: str, send_to: str | None = None) -> list[Check]:
    """Connect, secure, log in and, with `send_to`, send one test message."""
    if mode == "test":
        checks = [Check("mode", WARN, "ADVOCACY_MODE=test: mail goes only to a local catcher.",
                        "Set ADVOCACY_MODE=live once the other checks pass.")]
    else:
        checks = [Check("mode", OK, "ADVOCACY_MODE=live.")]
    if smtp_url == "sink":
        return [*checks, Check("relay-connect", FAIL, "SMTP_URL=sink: mail stays on this"
                               " machine.", f"Set SMTP_URL to your relay: {URL_EXAMPLE}.")]
    try:  # the configuration refuses this already; checked again before anything is sent
        check_mail_safety(mode, smtp_url, test_hosts)
    except ConfigError as exc:
        return [*checks, Check("relay-connect", FAIL, str(exc), "Correct SMTP_URL.")]
    parts = urlsplit(smtp_url)
    smtp, found = _connect(smtp_url, parts.hostname or "127.0.0.1", parts.port)
    checks += found
    if smtp is None:
        return checks
    try:
        auth = _login(smtp, unquote(parts.username or ""), unquote(parts.password or ""))
        checks.append(auth)
        if send_to and auth.status != FAIL:
            checks.append(_send(smtp, trial_message(sender, send_to), return_path, send_to))
    except (OSError, smtplib.SMTPException) as exc:
        checks.append(Check("relay-auth", FAIL, f"The relay hung up ({exc}).",
                            "Run again; if it persists, ask the relay's provider."))
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return checks
