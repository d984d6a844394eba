"""The configuration API over HTTPS, every request SigV4-signed for ``execute-api`` with the
user's own AWS credentials (profile, SSO, environment: botocore's usual chain).

The endpoint is the stack's ``ApiUrl`` output (``--stack``), or ``--endpoint URL``: the local
stack, unsigned unless ``--sign`` or ``LOCAL_AUTH=sigv4`` says it checks signatures too.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from secnotify_cli import __version__
from secnotify_cli.errors import EXIT_UNREACHABLE, ApiError, CliError

SERVICE = "execute-api"
API_URL_OUTPUT = "ApiUrl"
_EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class Options:
    """What the global options say about where the API is and how to reach it."""

    endpoint: str | None = None
    stack: str = "secnotify"
    profile: str | None = None
    region: str | None = None
    sign: bool | None = None  # None: sign unless the endpoint was given and LOCAL_AUTH is not sigv4
    timeout: float = 30.0


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    data: bytes

    def json(self) -> Any:
        return json.loads(self.data) if self.data else None

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")


def aws_session(options: Options) -> Any:
    """A boto3 session on the user's credentials chain (imported late: a usage error needs none)."""
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.Session(profile_name=options.profile, region_name=options.region)
    except BotoCoreError as error:
        raise CliError(f"AWS configuration: {error}", EXIT_UNREACHABLE) from None


def stack_outputs(session: Any, stack: str) -> dict[str, str]:
    """The CloudFormation outputs of ``stack``, by key."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        message = error.response.get("Error", {}).get("Message", str(error))
        raise CliError(f"stack {stack}: {message}", EXIT_UNREACHABLE) from None
    except BotoCoreError as error:
        raise CliError(f"stack {stack}: {error}", EXIT_UNREACHABLE) from None
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def region_of(url: str, session: Any) -> str:
    """The region to sign for: the session's, else the one an execute-api host names."""
    if session.region_name:
        return str(session.region_name)
    match = _EXECUTE_API_HOST.match(urlsplit(url).hostname or "")
    if match:
        return match.group(1)
    raise CliError("no AWS region: pass --region or set AWS_REGION", EXIT_UNREACHABLE)


def canonical_host(url: str) -> str:
    """The Host header as the signature covers it: lower case, no default port."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = 443 if parts.scheme == "https" else 80
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


@dataclass
class Api:
    """One API, one signer. ``call`` raises ``ApiError`` on any answer of 400 or more."""

    base_url: str
    session: Any = None  # boto3 session; None: requests go unsigned
    region: str | None = None
    timeout: float = 30.0
    _credentials: Any = field(default=None, repr=False)

    @classmethod
    def connect(cls, options: Options) -> Api:
        endpoint = options.endpoint or os.environ.get("SECNOTIFY_ENDPOINT")
        sign = options.sign
        if sign is None:
            sign = not endpoint or os.environ.get("LOCAL_AUTH", "").lower() == "sigv4"
        session = aws_session(options) if (sign or not endpoint) else None
        if not endpoint:
            outputs = stack_outputs(session, options.stack)
            endpoint = outputs.get(API_URL_OUTPUT)
            if not endpoint:
                raise CliError(f"stack {options.stack}: no {API_URL_OUTPUT} output", EXIT_UNREACHABLE)
        if urlsplit(endpoint).scheme not in ("http", "https") or not urlsplit(endpoint).hostname:
            raise CliError(f"endpoint {endpoint}: not an http(s) URL")
        api = cls(endpoint.rstrip("/"), session if sign else None, timeout=options.timeout)
        if sign:
            api.region = region_of(endpoint, session)
        return api

    # ---- requests ----------------------------------------------------------------------

    def url(self, path: str, query: dict[str, Any] | None = None) -> str:
        params = {k: v for k, v in (query or {}).items() if v is not None}
        suffix = "?" + urlencode(params, quote_via=quote, safe="-_.~") if params else ""
        return f"{self.base_url}{path}{suffix}"

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        content_type: str = JSON,
    ) -> Response:
        url = self.url(path, query)
        data = json.dumps(body).encode() if body is not None else b""
        sent = {"Host": canonical_host(url), "Accept": JSON, "User-Agent": f"secnotify-cli/{__version__}"}
        if body is not None:
            sent["Content-Type"] = content_type
        sent.update(headers or {})
        if self.session is not None:
            sent = self._signed(method, url, sent, data)
        response = self._send(method, url, sent, data)
        if response.status >= 400:
            try:
                detail = response.json()
            except ValueError:
                detail = response.data.decode("utf-8", "replace")
            raise ApiError(method, path, response.status, detail)
        return response

    def _signed(self, method: str, url: str, headers: dict[str, str], data: bytes) -> dict[str, str]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        if self._credentials is None:
            credentials = self.session.get_credentials()
            if credentials is None:
                raise CliError(
                    "no AWS credentials: set a profile (--profile, AWS_PROFILE), SSO or the AWS_ environment",
                    EXIT_UNREACHABLE,
                )
            self._credentials = credentials
        request = AWSRequest(method=method, url=url, data=data, headers=headers)
        SigV4Auth(self._credentials.get_frozen_credentials(), SERVICE, self.region).add_auth(request)
        return dict(request.headers.items())

    def _send(self, method: str, url: str, headers: dict[str, str], data: bytes) -> Response:
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=self.timeout)
        try:
            connection.request(method, target, body=data or None, headers=headers)
            answer = connection.getresponse()
            payload = answer.read()
        except (OSError, http.client.HTTPException) as error:
            raise CliError(f"{method} {url}: {error}", EXIT_UNREACHABLE) from None
        finally:
            connection.close()
        return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, payload)

    # ---- conveniences ------------------------------------------------------------------

    def get(self, path: str, **query: Any) -> Any:
        return self.call("GET", path, query=query).json()

    def pages(self, path: str, limit: int | None = None, **query: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list, following ``nextToken`` (at most ``limit`` of them)."""
        token: str | None = None
        seen = 0
        while True:
            page = self.get(
                path, limit=100 if limit is None else min(100, limit - seen), nextToken=token, **query
            )
            for item in page.get("items", []):
                yield item
                seen += 1
                if limit is not None and seen >= limit:
                    return
            token = page.get("nextToken")
            if not token:
                return


def segment(value: str) -> str:
    """One path segment: an id or name as the user typed it, quoted whole."""
    return quote(value, safe="")
