"""The Dynatrace Environment API v2 over urllib3, read-only and careful with the token.

- https only; plain http only to a loopback host, and only where the settings allow it (the
  local fake). No user info, query or fragment in the environment URL.
- Redirects are never followed (a 3xx is an error): the token goes to the configured host only.
- TLS is verified against the default CA store (or ``ca_certs``).
- Every request counts against a per-poll budget; 429 waits for ``Retry-After`` (seconds) or
  ``X-RateLimit-Reset`` (epoch microseconds), capped, then tries again (also counted).
- The token is sent in ``Authorization: Api-Token ...`` and appears in no error, repr or log.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import urllib3

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MAX_PAGE_SIZE = 500  # the API's maximum for list endpoints
MAX_BODY_BYTES = 16 * 1024 * 1024


class DynatraceError(Exception):
    """A request the poll cannot go on without (the next poll starts again from the cursor)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BudgetExhausted(DynatraceError):
    """The poll has made as many requests as it may; the rest waits for the next poll."""


class NotFound(DynatraceError):
    """404: the object is gone (or never was)."""


class Forbidden(DynatraceError):
    """401/403: the token lacks the scope (or is wrong)."""


def check_environment_url(url: str, allow_loopback_http: bool = False) -> str:
    """The environment URL without its trailing slash, or ValueError saying what is wrong."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError("the Dynatrace environment URL must be https://<host>[/e/<environment>]")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("the Dynatrace environment URL must carry no credentials, query or fragment")
    if parts.scheme == "http" and not (allow_loopback_http and _loopback(host)):
        raise ValueError(
            "the Dynatrace environment URL must use https (the token travels with every request)"
        )
    return url.strip().rstrip("/")


def _loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def path_segment(value: str) -> str:
    """An id from a response, made safe as one path segment (no ``/``, ``..`` or ``?`` survive)."""
    return quote(value, safe="")


class DynatraceClient:
    def __init__(
        self,
        environment_url: str,
        token: str,
        *,
        budget: int = 500,
        page_size: int = MAX_PAGE_SIZE,
        allow_loopback_http: bool = False,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 20.0,
        max_wait_s: float = 20.0,
        ca_certs: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base = check_environment_url(environment_url, allow_loopback_http)
        self._headers = {"Authorization": f"Api-Token {token}", "Accept": "application/json"}
        self.budget = budget
        self.page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        self.max_wait_s = max_wait_s
        self.requests = 0
        self.throttled = 0
        self._sleep = sleep
        self._clock = clock
        self._pool = urllib3.PoolManager(
            num_pools=2,
            maxsize=4,
            cert_reqs="CERT_REQUIRED",
            ca_certs=ca_certs,
            timeout=urllib3.Timeout(connect=connect_timeout_s, read=read_timeout_s),
            retries=False,
        )

    def __repr__(self) -> str:
        return f"DynatraceClient({self.base!r}, requests={self.requests})"

    def reset_budget(self, budget: int) -> None:
        self.budget = budget
        self.requests = 0
        self.throttled = 0

    def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """One GET of ``path`` (already made of safe segments), as a JSON object."""
        url = self.base + path + (("?" + urlencode(params)) if params else "")
        while True:
            if self.requests >= self.budget:
                raise BudgetExhausted(f"request budget of {self.budget} spent")
            self.requests += 1
            try:
                resp = self._pool.request(
                    "GET", url, headers=self._headers, redirect=False, preload_content=False
                )
            except urllib3.exceptions.HTTPError as exc:
                raise DynatraceError(f"GET {path} failed: {type(exc).__name__}") from None
            try:
                data = resp.read(MAX_BODY_BYTES + 1, decode_content=True)
            finally:
                resp.release_conn()
            if resp.status == 429:
                self.throttled += 1
                self._sleep(self._wait_s(resp.headers))
                continue
            return self._decode(path, resp.status, data)

    def _wait_s(self, headers: Any) -> float:
        retry_after = (headers.get("Retry-After") or "").strip()
        if retry_after.isdigit():
            return min(float(retry_after), self.max_wait_s)
        reset = (headers.get("X-RateLimit-Reset") or "").strip()
        if reset.isdigit():
            return min(max(int(reset) / 1_000_000 - self._clock(), 0.0), self.max_wait_s)
        return min(1.0, self.max_wait_s)

    def _decode(self, path: str, status: int, data: bytes) -> dict[str, Any]:
        if 300 <= status < 400:
            raise DynatraceError(f"GET {path} answered {status}: redirects are not followed", status)
        if status == 404:
            raise NotFound(f"GET {path} answered 404", status)
        if status in (401, 403):
            raise Forbidden(f"GET {path} answered {status}: check the token and its scopes", status)
        if status != 200:
            raise DynatraceError(f"GET {path} answered {status}", status)
        if len(data) > MAX_BODY_BYTES:
            raise DynatraceError(f"GET {path}: response larger than {MAX_BODY_BYTES} bytes", status)
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError):
            raise DynatraceError(f"GET {path}: response is not JSON", status) from None
        if not isinstance(doc, dict):
            raise DynatraceError(f"GET {path}: response is not a JSON object", status)
        return doc

    def pages(self, path: str, params: Mapping[str, str], key: str) -> Iterator[list[Any]]:
        """Each page's ``key`` list. Follow-up pages carry ``nextPageKey`` alone, as documented."""
        doc = self.get(path, {**params, "pageSize": str(self.page_size)})
        while True:
            items = doc.get(key)
            yield items if isinstance(items, list) else []
            next_key = doc.get("nextPageKey")
            if not isinstance(next_key, str) or not next_key:
                return
            doc = self.get(path, {"nextPageKey": next_key})
