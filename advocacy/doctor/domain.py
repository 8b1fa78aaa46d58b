"""The sender's domain in DNS: SPF at the Return-Path (bounce) domain, the DKIM key of a
selector, DMARC at the From domain and its alignment, and the MX that takes bounces and
replies back.

dnspython asks the DNS: it is what dkimpy already depends on (no new package in the image),
it answers TXT and MX as records rather than text to scrape, and it takes a resolver address
and port, so tests ask a DNS server of their own on 127.0.0.1 and never the network.
(checkdmarc would do more of it for us, but pulls a dozen packages and queries as it likes.)
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from dataclasses import dataclass

import dns.exception
import dns.resolver

from advocacy.doctor.checks import FAIL, OK, WARN, Check
from advocacy.privacy.replies import organisational_domain

LIFETIME = 5.0  # seconds for one question, retries included
SPF_LOOKUPS = 10  # RFC 7208, 4.6.4: more DNS-querying terms than this make a permerror
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class LookupFailed(Exception):
    """DNS did not answer (timeout, SERVFAIL): nothing can be said about the record."""


def resolver(address: str | None) -> dns.resolver.Resolver:
    """The resolver at `host`, `host:port` or `[v6]:port`; None: the system's resolvers."""
    if not address:
        res = dns.resolver.Resolver()
    else:
        host, port = address, 53
        if address.startswith("["):
            host, _, rest = address[1:].partition("]")
            port = int(rest.lstrip(":") or 53)
        elif address.count(":") == 1:
            host, _, number = address.partition(":")
            port = int(number)
        res = dns.resolver.Resolver(configure=False)
        res.nameservers = [host]
        res.port = port
    res.lifetime = LIFETIME
    return res


def _txt(res: dns.resolver.Resolver, name: str) -> list[str]:
    try:
        answer = res.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as exc:
        raise LookupFailed(f"{name} TXT: {type(exc).__name__}") from exc
    return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


def _addresses(res: dns.resolver.Resolver, name: str) -> list[str]:
    try:
        return [ipaddress.ip_address(name).compressed]
    except ValueError:
        pass
    found = []
    for kind in ("A", "AAAA"):
        try:
            found += [record.to_text() for record in res.resolve(name, kind)]
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            continue
        except dns.exception.DNSException as exc:
            raise LookupFailed(f"{name} {kind}: {type(exc).__name__}") from exc
    return found


def _mx(res: dns.resolver.Resolver, name: str) -> list[str] | None:
    """The MX hosts of a domain, best first; None when it has no MX record."""
    try:
        answer = res.resolve(name, "MX")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None
    except dns.exception.DNSException as exc:
        raise LookupFailed(f"{name} MX: {type(exc).__name__}") from exc
    ordered = sorted(answer, key=lambda record: record.preference)
    return [record.exchange.to_text(omit_final_dot=True) for record in ordered]


# --- SPF ---------------------------------------------------------------------------------

@dataclass
class _Walk:
    """What following an SPF record (its includes, a, mx and redirect) found."""

    networks: list[Network]
    lookups: int = 0
    unknown: str = ""  # a term we cannot evaluate offline (exists, ptr, macros)


def _network(text: str, default_length: int | None = None) -> Network:
    if default_length is not None and "/" not in text:
        text = f"{text}/{default_length}"
    return ipaddress.ip_network(text, strict=False)


def _split_length(value: str) -> tuple[str, str]:
    """"example.org/24" -> ("example.org", "/24"); the CIDR of an a or mx term."""
    name, slash, length = value.partition("/")
    return name, (slash + length if slash else "")


def _follow(res: dns.resolver.Resolver, domain: str, walk: _Walk, depth: int = 0) -> None:
    """Collect the networks an SPF record authorizes (pass only), as a receiver would."""
    records = [r for r in _txt(res, domain) if r.lower().split()[:1] == ["v=spf1"]]
    if len(records) != 1 or depth > SPF_LOOKUPS:
        return
    terms = records[0].split()[1:]
    redirect = ""
    for term in terms:
        qualifier = term[0] if term[0] in "+-~?" else "+"
        body = term.lstrip("+-~?")
        name, _, value = body.partition(":")
        name = name.lower()
        if "%" in body or name in ("exists", "ptr"):
            walk.unknown = walk.unknown or term
            continue
        if body.lower().startswith("redirect="):
            redirect = body.partition("=")[2]
            continue
        if "=" in body:  # exp= and unknown modifiers change nothing here
            continue
        name, length = _split_length(name)
        value, value_length = _split_length(value)
        length = length or value_length
        if name in ("include", "a", "mx"):
            walk.lookups += 1
        if qualifier != "+":
            continue
        if name in ("ip4", "ip6"):
            walk.networks.append(_network(value + length))
        elif name == "include":
            _follow(res, value, walk, depth + 1)
        elif name in ("a", "mx"):
            hosts = [value or domain] if name == "a" else (_mx(res, value or domain) or [])
            for host in hosts:
                for address in _addresses(res, host):
                    bits = 32 if "." in address else 128
                    walk.networks.append(_network(address + (length or f"/{bits}")))
    if redirect and not any(t.lower().lstrip("+-~?") == "all" for t in terms):
        walk.lookups += 1
        _follow(res, redirect, walk, depth + 1)


def check_spf(res: dns.resolver.Resolver, domain: str, relay_host: str | None) -> list[Check]:
    """SPF at the envelope sender's domain (the Return-Path), which receivers check."""
    suggestion = (f"v=spf1 a:{relay_host} ~all" if relay_host else "v=spf1 mx ~all")
    records = [r for r in _txt(res, domain) if r.lower().split()[:1] == ["v=spf1"]]
    if not records:
        return [Check("spf", FAIL, f"{domain} (the Return-Path domain) has no SPF record.",
                      f"Add a TXT record at {domain}: {suggestion} (or the include: your"
                      " relay's provider documents).")]
    if len(records) > 1:
        return [Check("spf", FAIL, f"{domain} has {len(records)} SPF records; receivers then"
                      " ignore them all.", f"Merge them into one TXT record at {domain}.")]
    record = records[0]
    ending = [t.lower() for t in record.split()[1:] if t.lower().lstrip("+-~?") == "all"]
    has_redirect = "redirect=" in record.lower()
    checks = []
    if ending and ending[-1] in ("all", "+all"):
        return [Check("spf", FAIL, f"The SPF record at {domain} ends in {ending[-1]}: anyone"
                      " may send as this domain.",
                      f"End the record at {domain} with ~all or -all instead.")]
    if ending and ending[-1] == "?all":
        checks.append(Check("spf", WARN, f"The SPF record at {domain} ends in ?all, which"
                            " vouches for nothing.",
                            f"End the record at {domain} with ~all (or -all) instead."))
    elif not ending and not has_redirect:
        checks.append(Check("spf", WARN, f"The SPF record at {domain} has no all at its end.",
                            f"End the record at {domain} with ~all or -all."))
    walk = _Walk(networks=[])
    try:
        _follow(res, domain, walk)
    except ValueError as exc:
        return [Check("spf", FAIL, f"The SPF record at {domain} has a term receivers cannot"
                      f" read ({exc}).", f"Correct the record at {domain}: {record}")]
    if walk.lookups > SPF_LOOKUPS:
        return [Check("spf", FAIL, f"The SPF record at {domain} needs {walk.lookups} DNS"
                      f" lookups; receivers stop at {SPF_LOOKUPS} and reject it.",
                      "Replace some include:, a and mx terms by ip4:/ip6: ranges.")]
    checks.append(_relay_authorized(res, domain, relay_host, walk) or Check(
        "spf", OK, f"{domain} has one SPF record: {record}"))
    return checks


def _relay_authorized(res: dns.resolver.Resolver, domain: str, relay_host: str | None,
                      walk: _Walk) -> Check | None:
    """A warning when the relay's own address is not among those SPF authorizes. Only a
    warning: a provider's submission host often differs from the hosts it sends from."""
    if not relay_host or relay_host in ("localhost", "127.0.0.1", "::1"):
        return None
    addresses = _addresses(res, relay_host)
    inside = [a for a in addresses
              if any(ipaddress.ip_address(a) in network for network in walk.networks)]
    if inside or not addresses:
        return None
    if walk.unknown:
        return Check("spf", WARN, f"Could not tell whether the SPF record at {domain} covers the"
                     f" relay {relay_host}: it uses {walk.unknown}.",
                     "Send a test (--send-test) and read its Authentication-Results header.")
    return Check("spf", WARN, f"The SPF record at {domain} does not cover the relay"
                 f" {relay_host} ({', '.join(addresses)}).",
                 f"Add the include: your relay's provider documents, or ip4:/ip6: for"
                 f" {', '.join(addresses)}, to the record at {domain}.")


# --- DKIM --------------------------------------------------------------------------------

def _tags(record: str) -> dict[str, str]:
    tags = {}
    for part in record.split(";"):
        name, equals, value = part.partition("=")
        if equals:
            tags[name.strip().lower()] = "".join(value.split())
    return tags


def _key_strength(tags: dict[str, str]) -> tuple[str, str]:
    """(status, words) for the public key of a DKIM record."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    kind = tags.get("k", "rsa").lower()
    try:
        der = base64.b64decode(tags["p"], validate=True)
    except (binascii.Error, ValueError):
        return FAIL, "its p= is not base64"
    if kind == "ed25519":
        return (OK, "an Ed25519 key") if len(der) == 32 else (FAIL, "a broken Ed25519 key")
    try:
        key = load_der_public_key(der)
    except ValueError:
        return FAIL, "its p= is not a public key"
    if not isinstance(key, rsa.RSAPublicKey):
        return FAIL, f"its key is not the {kind} key k= says"
    if key.key_size < 1024:
        return FAIL, f"a {key.key_size}-bit RSA key, which receivers refuse"
    if key.key_size < 2048:
        return WARN, f"a {key.key_size}-bit RSA key, weaker than today's 2048"
    return OK, f"a {key.key_size}-bit RSA key"


def check_dkim(res: dns.resolver.Resolver, domain: str, selector: str | None) -> Check:
    """The public key a selector publishes for the relay's signatures (d=domain)."""
    if not selector:
        return Check("dkim", WARN, "No DKIM selector given, so the DKIM key was not checked.",
                     f"Ask your relay which selector it signs {domain}'s mail with (the s= of"
                     " a DKIM-Signature it added) and run again with --dkim-selector NAME.")
    name = f"{selector}._domainkey.{domain}"
    records = [r for r in _txt(res, name) if "p=" in r]
    if not records:
        return Check("dkim", FAIL, f"{name} has no DKIM key.",
                     f"Publish at {name} the TXT record (v=DKIM1; k=rsa; p=…) your relay gives"
                     " you for this domain.")
    tags = _tags(records[0])
    if tags.get("v", "DKIM1") != "DKIM1":
        return Check("dkim", FAIL, f"The record at {name} says v={tags['v']}, not v=DKIM1.",
                     f"Start the record at {name} with v=DKIM1.")
    if not tags.get("p"):
        return Check("dkim", FAIL, f"The key at {name} is revoked (empty p=).",
                     f"Publish the relay's current public key at {name}.")
    status, words = _key_strength(tags)
    fix = {OK: "", WARN: f"Have your relay sign with a 2048-bit key and publish it at {name}.",
           FAIL: f"Publish the relay's public key for this selector at {name}, as it gives it."}
    return Check("dkim", status, f"{name} publishes {words}.", fix[status])


# --- DMARC -------------------------------------------------------------------------------

def _aligned(domain: str, from_domain: str, mode: str) -> bool:
    if mode == "s":
        return domain.lower() == from_domain.lower()
    return organisational_domain(domain) == organisational_domain(from_domain)


def check_dmarc(res: dns.resolver.Resolver, from_domain: str, bounce_domain: str,
                dkim_domain: str | None) -> list[Check]:
    """DMARC's record at the From domain (or its organisational domain), and whether SPF (by
    the Return-Path domain) or DKIM (by d=) can pass it aligned. `dkim_domain`: the signing
    domain of a DKIM key found, or None."""
    org = organisational_domain(from_domain)
    names = [f"_dmarc.{from_domain}"] + ([f"_dmarc.{org}"] if org != from_domain else [])
    for name in names:
        records = [r for r in _txt(res, name) if r.replace(" ", "").lower().startswith(
            "v=dmarc1")]
        if records:
            break
    else:
        return [Check("dmarc", FAIL, f"{from_domain} has no DMARC record.",
                      f"Add a TXT record at _dmarc.{from_domain}: v=DMARC1; p=none;"
                      f" rua=mailto:dmarc-reports@{from_domain} (read the reports, then move"
                      " to p=quarantine).")]
    if len(records) > 1:
        return [Check("dmarc", FAIL, f"{name} has {len(records)} DMARC records; receivers then"
                      " ignore them all.", f"Keep one TXT record at {name}.")]
    tags = _tags(records[0])
    policy = tags.get("p", "").lower()
    if policy not in ("none", "quarantine", "reject"):
        return [Check("dmarc", FAIL, f"The DMARC record at {name} has no valid policy (p=).",
                      f"Add p=none (or quarantine, or reject) to the record at {name}.")]
    found = f"{name}: policy {policy}" + (" (reports only)" if policy == "none" else "")
    if tags.get("rua"):
        checks = [Check("dmarc", OK, f"{found}, reports to {tags['rua']}.")]
    else:
        checks = [Check("dmarc", WARN, f"{found}, but no rua=: nobody hears which mail fails.",
                        f"Add rua=mailto:dmarc-reports@{from_domain} to the record at {name}.")]
    aspf, adkim = tags.get("aspf", "r").lower(), tags.get("adkim", "r").lower()
    spf_ok = _aligned(bounce_domain, from_domain, aspf)
    dkim_ok = dkim_domain is not None and _aligned(dkim_domain, from_domain, adkim)
    ways = [w for w, ok in (("SPF (Return-Path " + bounce_domain + ")", spf_ok),
                            ("DKIM (d=" + str(dkim_domain) + ")", dkim_ok)) if ok]
    if ways:
        checks.append(Check("dmarc-alignment", OK,
                            f"From {from_domain} is aligned through {' and '.join(ways)}."))
    else:
        checks.append(Check(
            "dmarc-alignment", FAIL,
            f"Neither the Return-Path domain {bounce_domain} nor a checked DKIM key is aligned"
            f" with the From domain {from_domain}, so DMARC fails.",
            f"Set ADVOCACY_REPLY_DOMAIN to {from_domain} or one of its subdomains"
            + (" (the record asks for aspf=s: exactly it)" if aspf == "s" else "")
            + ", or have your relay sign with d=" + from_domain
            + " and pass its selector in --dkim-selector."))
    return checks


# --- MX ----------------------------------------------------------------------------------

def check_mx(res: dns.resolver.Resolver, reply_domain: str) -> Check:
    """Bounces (bounce+…@) and relayed replies (reply+…@) come back to the reply domain."""
    fix = (f"Add an MX record for {reply_domain} pointing at the host that runs `advocacy"
           " inbound` (or forwards to it), so bounces and replies come back.")
    hosts = _mx(res, reply_domain)
    if hosts is None:
        return Check("mx", FAIL, f"{reply_domain} has no MX record.", fix)
    if hosts in ([""], ["."]):
        return Check("mx", FAIL, f"{reply_domain} says it takes no mail (a null MX).", fix)
    return Check("mx", OK, f"Mail to {reply_domain} goes to {', '.join(hosts)}.")


def check_domain(res: dns.resolver.Resolver, *, from_domain: str, bounce_domain: str,
                 relay_host: str | None, dkim_selector: str | None,
                 dkim_domain: str | None = None) -> list[Check]:
    """Every DNS check, in the order one fixes them."""
    checks: list[Check] = []
    dkim_domain = dkim_domain or from_domain
    try:
        checks += check_spf(res, bounce_domain, relay_host)
        dkim = check_dkim(res, dkim_domain, dkim_selector)
        checks.append(dkim)
        checks += check_dmarc(res, from_domain, bounce_domain,
                              dkim_domain if dkim.status != FAIL and dkim_selector else None)
        checks.append(check_mx(res, bounce_domain))
    except LookupFailed as exc:
        checks.append(Check("dns", FAIL, f"DNS did not answer ({exc}).",
                            "Check the resolver (--resolver) and the domain's name servers,"
                            " then run again."))
    return checks
