"""Fetching an image URL safely: http(s) only, every redirect hop checked, private destinations refused
unless allowed, and the size and the time bounded (roboflow's ``_validate_url_destination``).
`post_json` sends a webhook's body under the same rules.

Each hop's host is resolved once, within the deadline, and the connection goes to exactly the
addresses that were checked: a DNS answer that changes between the check and the connection
(DNS rebinding) cannot move the download to another address. Answers never name the addresses
the host resolved to, nor the network error behind a failure.
"""

from __future__ import annotations

import ipaddress
import queue
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import quote, urljoin, urlsplit

import certifi
import urllib3

from inference.errors import InvalidImage, too_large

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
T = TypeVar("T")

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CA_CERTS = certifi.where()  # the bundle requests verifies with; containers may have no system store
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the IPv4 address is the last 32 bits
_TUNNELS = (
    ipaddress.ip_network("2002::/16"),  # 6to4 (RFC 3056, deprecated by RFC 7526)
    ipaddress.ip_network("2001::/32"),  # Teredo (RFC 4380)
    ipaddress.ip_network("64:ff9b:1::/48"),  # local-use NAT64 (RFC 8215): where the IPv4 sits is site-defined
)
_PATH_SAFE = "!#$%&'()*+,/:;=?@[]~"  # what requests' requote_uri leaves alone: only invalid characters are quoted


@dataclass(frozen=True)
class UrlPolicy:
    """How `fetch_url` downloads (and `post_json` posts): a deadline, a size limit, the destinations it may reach."""

    timeout: float = 10.0
    max_bytes: int = 20 * 1024 * 1024
    allow_loopback: bool = False
    allow_private: bool = False
    max_redirects: int = 3


@dataclass(frozen=True)
class _Destination:
    """One hop, checked: where to connect, and the name the server must be asked for and prove."""

    scheme: str
    host: str  # ASCII (IDNA), for the Host header, TLS SNI and the certificate check
    port: int
    host_header: str
    target: str  # path and query, percent-encoded
    addresses: tuple[Address, ...]


def fetch_url(url: str, policy: UrlPolicy = UrlPolicy()) -> bytes:
    """Download an http(s) URL, refusing private destinations and oversize or slow answers.

    Redirects are followed by hand so that every hop is resolved, validated and pinned again;
    name resolution, connecting and reading all count against `policy.timeout`.

    Raises:
        InvalidImage: A bad, forbidden or unreachable URL, or a non-2xx answer (400); a body
            over `policy.max_bytes` (413); no complete answer by the deadline (code "url_timeout").
    """
    deadline = time.monotonic() + policy.timeout
    for _ in range(policy.max_redirects + 1):
        answer = _get(_check_destination(url, policy, deadline), policy, deadline)
        if isinstance(answer, bytes):
            return answer
        url = urljoin(url, answer)
    raise InvalidImage(f"URL redirected more than {policy.max_redirects} times", code="url_unreachable")


def _check_destination(url: str, policy: UrlPolicy, deadline: float) -> _Destination:
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
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidImage(f"Malformed URL host: {url!r}", code="invalid_url") from None
    port = port or (443 if scheme == "https" else 80)
    addresses = _resolve(host, port, policy, deadline)
    for address in addresses:
        if reason := _forbidden(address, policy):
            raise InvalidImage(f"URL destination is not allowed ({reason} address)", code="url_forbidden")
    shown = f"[{host}]" if ":" in host else host
    target = quote((parts.path or "/") + (f"?{parts.query}" if parts.query else ""), safe=_PATH_SAFE)
    return _Destination(scheme, host, port, shown + (f":{parts.port}" if parts.port else ""), target, addresses)


def _resolve(host: str, port: int, policy: UrlPolicy, deadline: float) -> tuple[Address, ...]:
    """The host's addresses, or url_timeout once the deadline passes first.

    A lookup cannot be cancelled, so it runs in a daemon thread that is left to the resolver's own
    timeout when we stop waiting: it never holds up the answer, nor the process's exit.
    """
    if time.monotonic() >= deadline:
        raise _timeout(policy)  # no time left (a request's budget spent): not even a lookup
    answers: queue.SimpleQueue[list | BaseException] = queue.SimpleQueue()

    def lookup() -> None:
        try:
            answers.put(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except BaseException as exc:  # handed to the waiting thread, which decides
            answers.put(exc)

    threading.Thread(target=lookup, name="url-resolve", daemon=True).start()
    try:
        infos = answers.get(timeout=max(deadline - time.monotonic(), 0.0))
    except queue.Empty:
        raise _timeout(policy) from None
    if isinstance(infos, BaseException) or not infos:
        raise InvalidImage("Cannot resolve the URL's host", code="url_unreachable")
    found = (ipaddress.ip_address(str(info[4][0])) for info in infos)
    return tuple(dict.fromkeys(found))  # the resolver's order, without repeats


def _forbidden(address: Address, policy: UrlPolicy) -> str | None:
    """Why `policy` forbids `address`, or None when it may be fetched.

    An IPv4-mapped or NAT64 (64:ff9b::/96) address is a translation: the packets end at the IPv4
    host it embeds, so that IPv4 address is judged (DNS64 gives every IPv4-only site such an address
    on an IPv6-only network). 6to4, Teredo and local-use NAT64 are tunnels to an embedded, possibly
    internal IPv4 address through relays nobody here controls, and no image host needs them: they
    are refused whatever the policy.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in tunnel for tunnel in _TUNNELS):
            return "tunnelled IPv4"
        if address.ipv4_mapped:
            address = address.ipv4_mapped  # before Python 3.13, ::ffff:a.b.c.d is never "global"
        elif address in _NAT64:
            address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.is_loopback:
        return None if policy.allow_loopback else "loopback"
    if policy.allow_private:
        return None
    for reason in ("unspecified", "link_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{reason}"):
            return reason.replace("_", "-")
    return None if address.is_global else "non-public"  # e.g. 100.64.0.0/10, shared by carriers


def _get(destination: _Destination, policy: UrlPolicy, deadline: float) -> bytes | str:
    """GET one hop: the body, or the Location a redirect names."""
    headers = {"Accept": "image/*", "Accept-Encoding": "identity"}
    answer = _request(destination, policy, deadline, "GET", headers, None, lambda r: _answer(r, policy, deadline))
    if answer is None:
        raise InvalidImage("Cannot download URL", code="url_unreachable")
    return answer


def check_url(url: str, policy: UrlPolicy = UrlPolicy()) -> None:
    """Refuse a URL `fetch_url` or `post_json` would refuse to reach, before anything is sent to it.

    Raises:
        InvalidImage: As `fetch_url` does for the URL and its host's addresses.
    """
    _check_destination(url, policy, time.monotonic() + policy.timeout)


def post_json(url: str, body: bytes, headers: Mapping[str, str], policy: UrlPolicy = UrlPolicy()) -> int:
    """POST a JSON body to an http(s) URL checked and pinned as `fetch_url` checks and pins; the answer's status.

    Redirects are not followed (a 3xx is returned like any status): a webhook's receiver answers
    where it was registered. The answer's body is never read.

    Raises:
        InvalidImage: A bad, forbidden or unreachable URL (code "url_unreachable"), or no answer
            by `policy.timeout` ("url_timeout").
    """
    deadline = time.monotonic() + policy.timeout
    destination = _check_destination(url, policy, deadline)
    sent = {"Content-Type": "application/json", "Accept-Encoding": "identity", **headers}
    status = _request(destination, policy, deadline, "POST", sent, body, lambda response: response.status)
    if status is None:
        raise InvalidImage("Cannot reach URL", code="url_unreachable")
    return status


def _request(
    destination: _Destination,
    policy: UrlPolicy,
    deadline: float,
    method: str,
    headers: Mapping[str, str],
    body: bytes | None,
    read: Callable[[urllib3.BaseHTTPResponse], T],
) -> T | None:
    """Send one request to the hop's checked addresses, in order: what ``read`` makes of the answer,
    or None when no address could be reached.

    The next address is tried only when one refuses the connection or cannot be routed to
    (a dual-stack host on a machine without IPv6), never after a timeout.
    """
    for address in destination.addresses:
        left = min(policy.timeout, max(deadline - time.monotonic(), 0.01))
        try:
            with _pool(destination, address) as pool:
                response = pool.urlopen(
                    method,
                    destination.target,
                    body=body,
                    headers={"Host": destination.host_header, **headers},
                    redirect=False,
                    retries=False,
                    preload_content=False,
                    timeout=urllib3.Timeout(connect=left, read=left),
                )
                with response:
                    return read(response)
        except urllib3.exceptions.NewConnectionError:
            continue  # a subclass of ConnectTimeoutError, but a refusal: try the next address
        except (urllib3.exceptions.TimeoutError, TimeoutError):
            raise _timeout(policy) from None
        except (urllib3.exceptions.HTTPError, OSError):
            break  # TLS and protocol failures: their text would describe the internal network
    return None


def _pool(destination: _Destination, address: Address) -> urllib3.HTTPConnectionPool:
    """A one-connection pool to `address` only; over TLS it sends and verifies the URL's host name."""
    if destination.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            str(address),
            destination.port,
            maxsize=1,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            ca_certs=_CA_CERTS,
            server_hostname=destination.host,
            assert_hostname=destination.host,
        )
    return urllib3.HTTPConnectionPool(str(address), destination.port, maxsize=1, retries=False)


def _answer(response: urllib3.BaseHTTPResponse, policy: UrlPolicy, deadline: float) -> bytes | str:
    """The body of a 2xx answer, the Location of a redirect; any other status is url_unreachable."""
    location = response.headers.get("Location")
    if response.status in _REDIRECTS and location:
        return location
    if not 200 <= response.status < 300:
        raise InvalidImage(f"URL answered HTTP {response.status}", code="url_unreachable")
    return _read_body(response, policy, deadline)


def _read_body(response: urllib3.BaseHTTPResponse, policy: UrlPolicy, deadline: float) -> bytes:
    """Read the body, stopping past `policy.max_bytes` or past the deadline."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise too_large(f"URL content is {declared} bytes, more than the limit of {policy.max_bytes}")
    body = bytearray()
    # read1 returns what has arrived rather than waiting for a full chunk, so a server that
    # drips bytes is caught by the deadline check (each read is still bounded by the timeout)
    while chunk := response.read1(64 * 1024, decode_content=True):
        body += chunk
        if len(body) > policy.max_bytes:
            raise too_large(f"URL content is more than the limit of {policy.max_bytes} bytes")
        if time.monotonic() > deadline:
            raise _timeout(policy)
    return bytes(body)


def _timeout(policy: UrlPolicy) -> InvalidImage:
    return InvalidImage(f"URL did not answer within {policy.timeout:g} seconds", code="url_timeout")
