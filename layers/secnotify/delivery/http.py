"""The webhook sender: one signed POST over a shared urllib3 pool, to an address the SSRF guard vetted.

``WebhookSender.send`` never raises for network, TLS, HTTP or SSRF problems; it returns a
``DeliveryOutcome`` whose ``error`` is readable and never contains a secret header value.

Header policy: the integration's headers are sent as given, except the framing and signature
headers we own (``Host``, ``Content-Length``, ``webhook-*`` ...), which are dropped and set by us.
An integration-supplied ``User-Agent`` is kept: some receivers only accept a particular client
name, so ours (``secnotify/<version>``) is the default rather than forced.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import urllib3
from urllib3.exceptions import (
    HTTPError,
    InsecureRequestWarning,
)

from secnotify.delivery import deadline
from secnotify.delivery.failures import DnsFailure, describe, dns_reason
from secnotify.delivery.outcome import (
    ERROR_BLOCKED,
    ERROR_DNS,
    ERROR_INVALID,
    ERROR_TIMEOUT,
    DeliveryOutcome,
    classify,
    parse_retry_after,
)
from secnotify.delivery.pooling import make_pool
from secnotify.delivery.redact import Masker, masker_for
from secnotify.delivery.signing import USER_AGENT, sign_with_key, signing_key
from secnotify.delivery.ssrf import BlockedTarget, SsrfGuard, parse_numeric_host
from secnotify.delivery.tls import CaSource, tls_context
from secnotify.models.delivery import utf8_head
from secnotify.models.integration import HEADER_NAME, HEADER_VALUE_FORBIDDEN, RESERVED_HEADERS
from secnotify.models.named_secrets import URL_SECRET, url_encoded
from secnotify.settings import Settings, get_settings

logger = logging.getLogger(__name__)

# The integration opted in to unverified TLS; warning on every send would only flood the logs.
urllib3.disable_warnings(InsecureRequestWarning)

# The masker of the send under way in this thread: urllib3's own log lines quote the request
# target, which may hold a named secret.
_SENDING_MASKER: contextvars.ContextVar[Masker | None] = contextvars.ContextVar("masker", default=None)


class _MaskSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        masker = _SENDING_MASKER.get()
        if masker is not None:
            try:
                text = record.getMessage()
            except Exception:  # a filter must never fail the send that logged
                text = f"{record.name}: unformattable log record"
            record.msg, record.args = masker.mask(text), None
        return True


# A logger's filters see only its own records, not its children's: each urllib3 module that logs.
for _name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.poolmanager", "urllib3.response"):
    logging.getLogger(_name).addFilter(_MaskSecrets())

MAX_RESPONSE_READ = 64 * 1024
RESPONSE_BODY_LIMIT = 4 * 1024  # what a delivery record keeps of an answer
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters that may stay as they are in a request target; everything else is percent-encoded.
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"

_pool_lock = threading.Lock()
_shared_pool: urllib3.PoolManager | None = None


def shared_pool(settings: Settings | None = None) -> urllib3.PoolManager:
    """The process-wide keep-alive pool every sender uses unless given its own."""
    global _shared_pool
    with _pool_lock:
        if _shared_pool is None:
            _shared_pool = make_pool(settings or get_settings())
        return _shared_pool


@dataclass(frozen=True)
class WebhookRequest:
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    accept_any_certificate: bool
    webhook_id: str
    timestamp: int
    signing_secret: str | None = None
    secret_header_names: frozenset[str] = field(default_factory=frozenset)
    test_marker: str | None = None  # the webhook-test header of a test send
    # The secret a rotation replaced, signing too while ``timestamp`` is before the given unix time.
    previous_signing_secret: str | None = None
    previous_signing_until: float | None = None
    # Prepared from exactly these headers and secrets (``SendStateCache``); None: per send.
    state: SendState | None = field(default=None, repr=False, compare=False)


class _Refused(Exception):
    """A request that cannot be sent as configured; retrying will not help."""


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # ASCII host name or IP literal, no brackets
    port: int
    host_header: str
    request_target: str
    sni: str | None  # None when the URL names an IP literal
    # A target with ``{Secret[name]}`` in it: its quoted text around each secret, with each
    # secret's name between (text, name, text, ...). Filled per integration version (SendState),
    # so this cache, keyed by the URL as configured, never holds a secret value.
    secret_slots: tuple[str, ...] = ()


@functools.lru_cache(maxsize=2048)
def _parse_url(url: str) -> _Target:
    # Pure, and the same few URLs are sent to again and again: parse each once.
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _Refused("invalid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise _Refused("URL scheme must be http or https")
    if parts.username is not None or parts.password is not None:
        raise _Refused("URL must not carry credentials")
    if not parts.hostname:
        raise _Refused("URL has no host")
    literal = parse_numeric_host(parts.hostname)
    if literal is not None or ":" in parts.hostname:
        host = parts.hostname
    else:
        try:
            host = parts.hostname.rstrip(".").encode("idna").decode("ascii")
        except UnicodeError:
            raise _Refused("URL host is not a valid host name") from None
    port = port or _DEFAULT_PORTS[scheme]
    shown_host = f"[{host}]" if ":" in host else host
    host_header = shown_host if port == _DEFAULT_PORTS[scheme] else f"{shown_host}:{port}"
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    pieces = URL_SECRET.split(target)
    return _Target(
        scheme=scheme,
        host=host,
        port=port,
        host_header=host_header,
        request_target=quote(target, safe=_TARGET_SAFE),
        sni=None if literal is not None else host,
        secret_slots=tuple(
            piece if i % 2 else quote(piece, safe=_TARGET_SAFE) for i, piece in enumerate(pieces)
        )
        if len(pieces) > 1
        else (),
    )


def _wire_value(value: str) -> str:
    # http.client encodes header values as latin-1; this makes the wire bytes UTF-8.
    return value.encode("utf-8").decode("latin-1")


WireHeaders = dict[str, str] | urllib3.HTTPHeaderDict


@dataclass(frozen=True, eq=False)
class SendState:
    """What every send of one integration version shares, worked out once: its headers screened
    and in wire form, the signing key decoded, the masker for its secrets. ``refused`` says why
    it cannot be sent as configured (then every send is refused with that reason).

    Build it with ``prepare_send`` from exactly the request's headers and secrets;
    ``SendStateCache`` keeps one per integration version.
    """

    headers: tuple[tuple[str, str], ...] = field(repr=False)  # as configured
    secret_header_names: frozenset[str]
    wire_headers: WireHeaders = field(repr=False)
    signing_key: bytes | None = field(repr=False)
    masker: Masker = field(repr=False)
    refused: str | None = None
    # After a rotation: the previous key signs too, for requests stamped before ``previous_until``.
    previous_key: bytes | None = field(default=None, repr=False)
    previous_until: float = 0.0

    def signature(self, msg_id: str, timestamp: int, body: bytes) -> str | None:
        """The ``webhook-signature`` value: one signature, or during a rotation's overlap the new
        key's and the previous key's, space-separated (Standard Webhooks: any one may verify)."""
        if self.signing_key is None:
            return None
        value = sign_with_key(self.signing_key, msg_id, timestamp, body)
        if self.previous_key is not None and timestamp < self.previous_until:
            value += " " + sign_with_key(self.previous_key, msg_id, timestamp, body)
        return value

    # The named secrets a URL may use, by name, already encoded for a URL.
    url_secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    # Request targets with their secrets filled, by the target as configured: one per version.
    filled_targets: dict[str, str] = field(default_factory=dict, repr=False)

    def fill(self, target: _Target) -> _Target:
        """``target`` with the secrets of its path and query filled in."""
        filled = self.filled_targets.get(target.request_target)
        if filled is None:
            slots = target.secret_slots
            parts = list(slots[::2])
            for index, name in enumerate(slots[1::2]):
                value = self.url_secrets.get(name)
                if value is None:
                    raise _Refused(f"the URL uses secret {name}, which the integration does not hold")
                parts.insert(2 * index + 1, value)
            filled = "".join(parts)
            if len(self.filled_targets) < 4:  # one URL per integration version; bounded anyway
                self.filled_targets[target.request_target] = filled
        return dataclasses.replace(target, request_target=filled, secret_slots=())


def _screened_headers(headers: tuple[tuple[str, str], ...]) -> WireHeaders:
    kept: list[tuple[str, str]] = []
    for name, value in headers:
        if not HEADER_NAME.match(name):
            raise _Refused(f"header name {name[:100]!r} is not a valid HTTP header name")
        if HEADER_VALUE_FORBIDDEN.search(value):
            raise _Refused(f"header {name} has a value with control characters or line breaks")
        if name.lower() in RESERVED_HEADERS:
            continue
        kept.append((name, _wire_value(value)))
    names = {name.lower() for name, _ in kept}
    # A plain dict goes to urllib3 as it is; only a name given twice needs the multi-value dict.
    wire: WireHeaders = dict(kept) if len(names) == len(kept) else urllib3.HTTPHeaderDict()
    if isinstance(wire, urllib3.HTTPHeaderDict):
        for name, value in kept:
            wire.add(name, value)
    if "user-agent" not in names:
        wire["User-Agent"] = USER_AGENT
    return wire


def prepare_send(
    headers: tuple[tuple[str, str], ...],
    signing_secret: str | None,
    secret_header_names: frozenset[str],
    *,
    previous_signing_secret: str | None = None,
    previous_signing_until: float | None = None,
    other_secrets: tuple[str, ...] = (),
    url_secrets: Mapping[str, str] | None = None,
) -> SendState:
    """The ``SendState`` of an integration's headers and signing secret; after a rotation, of the
    previous secret too, which signs requests stamped before ``previous_signing_until``.
    ``other_secrets`` are further values to mask wherever a send's outcome is shown (the named
    secrets); ``url_secrets`` the named secrets by name, for the ``{Secret[name]}`` of the URL's
    path and query."""
    masker = masker_for(
        (value for name, value in headers if name.lower() in secret_header_names),
        signing_secret,
        previous_signing_secret,
        other_secrets=(*other_secrets, *(url_secrets or {}).values()),
    )
    encoded = {name: url_encoded(value) for name, value in (url_secrets or {}).items()}
    try:
        wire = _screened_headers(headers)
        try:
            key = signing_key(signing_secret) if signing_secret else None
        except ValueError:
            raise _Refused("the integration's signing secret is not valid") from None
    except _Refused as exc:
        return SendState(headers, secret_header_names, {}, None, masker, str(exc), url_secrets=encoded)
    previous: bytes | None = None
    if key is not None and previous_signing_secret and previous_signing_until is not None:
        # A previous secret that no longer decodes only loses its extra signature.
        with contextlib.suppress(ValueError):
            previous = signing_key(previous_signing_secret)
    return SendState(
        headers,
        secret_header_names,
        wire,
        key,
        masker,
        previous_key=previous,
        previous_until=previous_signing_until or 0.0,
        url_secrets=encoded,
    )


class SendStateCache:
    """One ``SendState`` per key (an integration id) for its current version; thread-safe.

    A send for another version rebuilds and replaces it, so an edit takes effect on the next
    send. The least recently used go first beyond ``max_entries``.
    """

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max(1, max_entries)
        self._entries: OrderedDict[str, tuple[int, SendState]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str, version: int, build: Callable[[], SendState]) -> SendState:
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] == version:
                self._entries.move_to_end(key)
                return hit[1]
        state = build()  # outside the lock: a masker costs milliseconds on a secret echo
        with self._lock:
            self._entries[key] = (version, state)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return state


def _request_headers(req: WebhookRequest, state: SendState, target: _Target) -> WireHeaders:
    if state.refused is not None:
        raise _Refused(state.refused)
    headers = state.wire_headers.copy()
    headers["Host"] = target.host_header
    headers["webhook-id"] = _wire_value(req.webhook_id)
    headers["webhook-timestamp"] = str(int(req.timestamp))
    if req.test_marker is not None:
        headers["webhook-test"] = req.test_marker
    signature = state.signature(req.webhook_id, int(req.timestamp), req.body)
    if signature is not None:
        headers["webhook-signature"] = signature
    return headers


def _read_body(resp: urllib3.BaseHTTPResponse) -> tuple[bytes, bool]:
    """Up to ``MAX_RESPONSE_READ`` bytes, and whether the response was read to its framed end
    (Content-Length or chunked; a body ended by closing the connection cannot tell a complete
    answer from one our own deadline cut). The connection goes back to the pool only if fully read.
    """
    complete = False
    data = b""
    try:
        length = getattr(resp, "length_remaining", None)
        if length is not None and length <= MAX_RESPONSE_READ and "content-encoding" not in resp.headers:
            # Announced, small and not compressed: one read of exactly that, without the
            # chunked buffering a read of ``amt`` bytes goes through.
            data = resp.read(decode_content=False)
        else:
            data = resp.read(MAX_RESPONSE_READ + 1, decode_content=True)
        complete = len(data) <= MAX_RESPONSE_READ
    except (HTTPError, OSError):
        pass  # the status already decided the outcome; a broken body only shortens the log
    framed = (
        "content-length" in resp.headers
        or bool(getattr(resp, "chunked", False))
        or resp.status in (204, 304)
        or 100 <= resp.status < 200
    )
    if not complete:
        # Unread bytes would poison the next request on this keep-alive connection.
        resp.close()
    resp.release_conn()
    return data[:MAX_RESPONSE_READ], complete and framed


class WebhookSender:
    """Sends ``WebhookRequest``s; safe to share between threads."""

    def __init__(
        self,
        settings: Settings | None = None,
        pool: urllib3.PoolManager | None = None,
        guard: SsrfGuard | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.pool = pool or shared_pool(self.settings)
        self.guard = guard or SsrfGuard.from_settings(self.settings)
        kw = self.pool.connection_pool_kw
        self._ca: CaSource = (kw.get("ca_certs"), kw.get("ca_cert_dir"), kw.get("ca_cert_data"))
        self.timeout = urllib3.Timeout(
            connect=self.settings.connect_timeout_s, read=self.settings.read_timeout_s
        )

    def send(self, req: WebhookRequest) -> DeliveryOutcome:
        started = time.perf_counter()
        state = req.state
        if state is None:
            state = prepare_send(
                req.headers,
                req.signing_secret,
                req.secret_header_names,
                previous_signing_secret=req.previous_signing_secret,
                previous_signing_until=req.previous_signing_until,
            )
        masker = state.masker
        status: int | None = None
        error: str | None = None
        kind: str | None = None
        body = ""
        retry_after: float | None = None
        budget = self.settings.connect_timeout_s + self.settings.read_timeout_s
        token = deadline.begin(budget)
        answered = False
        sending = _SENDING_MASKER.set(masker)
        try:
            status, error, body, retry_after, answered = self._attempt(req, state)
        except _Refused as exc:
            kind, error = ERROR_INVALID, str(exc)
        except BlockedTarget as exc:
            kind, error = ERROR_BLOCKED, exc.message
        except DnsFailure as exc:
            kind, error = ERROR_DNS, str(exc)
        except (HTTPError, OSError) as exc:
            kind, error = describe(exc, self.settings)
        except Exception as exc:  # any other failure is reported, never raised into a fan-out
            kind, error = describe(exc, self.settings)
            logger.warning("webhook send failed unexpectedly: %s", type(exc).__name__)
        finally:
            _SENDING_MASKER.reset(sending)
        if deadline.end(token) and not answered:
            # The socket was shut mid-response; whatever was parsed from it is not an answer.
            # A response read to its end is one, though: the watchdog may have fired only
            # because this process was too busy to read it in time.
            status, body, retry_after = None, "", None
            kind, error = ERROR_TIMEOUT, f"no complete response within {budget:g} s"
        delivered, retryable = classify(status, kind)
        outcome = DeliveryOutcome(
            delivered=delivered,
            retryable=retryable,
            status_code=status,
            latency_ms=(time.perf_counter() - started) * 1000.0,
            error=masker.mask(error) if error is not None else None,
            # What is kept, plus room for a secret that starts inside it: masked whole.
            response_body=utf8_head(
                masker.mask(body[: RESPONSE_BODY_LIMIT + masker.longest]), RESPONSE_BODY_LIMIT
            ),
            retry_after_s=retry_after,
            answer=body if delivered else "",
        )
        logger.debug(
            "webhook %s: status=%s error=%s latency_ms=%.1f",
            req.webhook_id,
            status,
            outcome.error,
            outcome.latency_ms,
        )
        return outcome

    def _attempt(
        self, req: WebhookRequest, state: SendState
    ) -> tuple[int, str | None, str, float | None, bool]:
        target = _parse_url(req.url)
        headers = _request_headers(req, state, target)
        if target.secret_slots:
            # After the origin is parsed, and it is what the guard vets: a secret never steers it.
            target = state.fill(target)
        try:
            ip = self.guard.vet(target.host, target.port)
        except (OSError, UnicodeError) as exc:
            raise DnsFailure(f"DNS lookup failed for {target.host}: {dns_reason(exc)}") from None
        conn_pool = self.pool.connection_from_host(
            ip, target.port, target.scheme, pool_kwargs=self._tls_kwargs(req, target, ip)
        )
        resp = conn_pool.urlopen(
            "POST",
            target.request_target,
            body=req.body,
            headers=headers,
            retries=False,
            redirect=False,
            timeout=self.timeout,
            preload_content=False,
            release_conn=False,
            assert_same_host=False,
        )
        raw, complete = _read_body(resp)
        status = resp.status
        text = raw.decode("utf-8", "replace")
        retry_after = parse_retry_after(resp.headers.get("Retry-After"), time.time())
        error: str | None = None
        if 300 <= status < 400:
            location = resp.headers.get("Location")
            error = f"redirect to {location[:500]} not followed" if location else "redirect not followed"
        elif not 200 <= status < 300:
            error = f"HTTP {status} {resp.reason or ''}".rstrip()
        return status, error, text, retry_after, complete

    def _tls_kwargs(self, req: WebhookRequest, target: _Target, ip: str) -> dict[str, object] | None:
        if target.scheme != "https":
            return None
        # The shared context of the mode (pool keys include it and cert_reqs, so the two modes
        # never share a connection). A CA the pool was configured with is built into its
        # context, not loaded again into it by urllib3 on every connection.
        if req.accept_any_certificate:
            return {
                "ssl_context": tls_context(False),
                "cert_reqs": "CERT_NONE",
                "assert_hostname": False,
                "server_hostname": target.sni,
                **_NO_CA_KWARGS,
            }
        # We connect to an IP, so name the host for SNI and check the certificate against it.
        return {
            "ssl_context": tls_context(True, self._ca),
            "cert_reqs": "CERT_REQUIRED",
            "server_hostname": target.sni,
            "assert_hostname": target.sni or ip,
            **_NO_CA_KWARGS,
        }


# None removes a key from the pool's own keyword arguments for this pool.
_NO_CA_KWARGS: dict[str, object] = {"ca_certs": None, "ca_cert_dir": None, "ca_cert_data": None}
