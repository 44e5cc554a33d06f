"""Fetching an image URL safely: http(s) only, every redirect hop checked, private destinations refused
unless allowed, and the size and the time bounded (roboflow's ``_validate_url_destination``)."""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from inference.errors import InvalidImage, too_large

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class UrlPolicy:
    """How `fetch_url` may download: a deadline, a size limit and which destinations it may reach."""

    timeout: float = 10.0
    max_bytes: int = 20 * 1024 * 1024
    allow_loopback: bool = False
    allow_private: bool = False
    max_redirects: int = 3


def fetch_url(url: str, policy: UrlPolicy = UrlPolicy()) -> bytes:
    """Download an http(s) URL, refusing private destinations and oversize or slow answers.

    Redirects are followed by hand so that every hop is validated again. Requests resolves the
    host once more when it connects, so a DNS answer that changes in between is not caught.

    Raises:
        InvalidImage: A bad, forbidden or unreachable URL, or a non-2xx answer (400); a body
            over `policy.max_bytes` (413); no complete answer by the deadline (code "url_timeout").
    """
    deadline = time.monotonic() + policy.timeout
    with requests.Session() as session:
        session.trust_env = False  # a proxy from the environment would bypass the address checks
        for _ in range(policy.max_redirects + 1):
            _check_destination(url, policy)
            timeout = min(policy.timeout, max(deadline - time.monotonic(), 0.01))
            try:
                with session.get(
                    url,
                    stream=True,
                    allow_redirects=False,
                    timeout=timeout,
                    headers={"Accept": "image/*", "Accept-Encoding": "identity"},
                ) as response:
                    if response.status_code in _REDIRECTS and response.headers.get("Location"):
                        url = urljoin(url, response.headers["Location"])
                        continue
                    if not 200 <= response.status_code < 300:
                        raise InvalidImage(f"URL answered HTTP {response.status_code}", code="url_unreachable")
                    return _read_body(response, policy, deadline)
            except (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError):
                raise _timeout(policy) from None
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                raise InvalidImage(f"Cannot download URL: {exc}", code="url_unreachable") from None
    raise InvalidImage(f"URL redirected more than {policy.max_redirects} times", code="url_unreachable")


def _check_destination(url: str, policy: UrlPolicy) -> None:
    """Refuse non-http(s) URLs and hosts of which ANY address is loopback, private, reserved..."""
    try:
        parts = urlsplit(url)
        scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError:
        raise InvalidImage(f"Malformed URL: {url!r}", code="invalid_url") from None
    if scheme not in ("http", "https"):
        raise InvalidImage("Only http and https URLs are allowed", code="invalid_url")
    if not host:
        raise InvalidImage(f"URL has no host: {url!r}", code="invalid_url")
    try:
        infos = socket.getaddrinfo(host, port or (443 if scheme == "https" else 80), type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise InvalidImage(f"Cannot resolve host {host!r}", code="url_unreachable") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])  # drop an IPv6 scope id
        if reason := _forbidden(address, policy):
            raise InvalidImage(f"URL destination {host!r} is a {reason} address ({address})", code="url_forbidden")


def _forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address, policy: UrlPolicy) -> str | None:
    """Why `policy` forbids `address`, or None when it may be fetched."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # before Python 3.13, ::ffff:a.b.c.d is never "global"
    if address.is_loopback:
        return None if policy.allow_loopback else "loopback"
    if policy.allow_private:
        return None
    for reason in ("unspecified", "link_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{reason}"):
            return reason.replace("_", "-")
    return None if address.is_global else "non-public"  # e.g. 100.64.0.0/10, shared by carriers


def _read_body(response: requests.Response, policy: UrlPolicy, deadline: float) -> bytes:
    """Read the body, stopping past `policy.max_bytes` or past the deadline."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise too_large(f"URL content is {declared} bytes, more than the limit of {policy.max_bytes}")
    body = bytearray()
    # read1 returns what has arrived rather than waiting for a full chunk, so a server that
    # drips bytes is caught by the deadline check (each read is still bounded by the timeout)
    while chunk := response.raw.read1(64 * 1024, decode_content=True):
        body += chunk
        if len(body) > policy.max_bytes:
            raise too_large(f"URL content is more than the limit of {policy.max_bytes} bytes")
        if time.monotonic() > deadline:
            raise _timeout(policy)
    return bytes(body)


def _timeout(policy: UrlPolicy) -> InvalidImage:
    return InvalidImage(f"URL did not answer within {policy.timeout:g} seconds", code="url_timeout")
