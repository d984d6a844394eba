"""`LOCAL_AUTH=sigv4`: the local API checks Signature Version 4 the way API Gateway's IAM auth
does, so a client that signs (the `secnotify` command line, an AWS SDK, `awscurl`) is tried
against the same rules it meets in AWS.

Known local credentials (any other access key is refused):

    access key id  local
    secret key     local
    principal      arn:aws:iam::123456789012:user/local

the same pair ``LOCAL_ENV`` gives the local functions, so ``make run`` and a shell with
``AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local`` agree. botocore's own signer recomputes the
signature from the request as received (method, path, query, the signed headers, the body's
hash); a request altered after signing no longer matches and is refused with 403.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "execute-api"
ACCOUNT_ID = "123456789012"
# API Gateway refuses a signature more than five minutes from its clock, either way.
MAX_SKEW = timedelta(minutes=5)
AMZ_DATE = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class LocalPrincipal:
    """Who a verified request comes from, as API Gateway puts it in ``requestContext.identity``."""

    access_key: str
    user_id: str
    arn: str

    def identity(self) -> dict[str, str]:
        return {
            "accessKey": self.access_key,
            "accountId": ACCOUNT_ID,
            "caller": self.user_id,
            "user": self.user_id,
            "userArn": self.arn,
        }


@dataclass(frozen=True)
class LocalCredential:
    secret_key: str
    principal: LocalPrincipal


LOCAL_CREDENTIALS: dict[str, LocalCredential] = {
    "local": LocalCredential(
        secret_key="local",  # noqa: S106 - a documented local credential, like moto's
        principal=LocalPrincipal("local", "AIDALOCALSECNOTIFY", f"arn:aws:iam::{ACCOUNT_ID}:user/local"),
    ),
}


class SignatureRefused(Exception):
    """A request API Gateway would answer with 403; ``error_type`` goes in ``x-amzn-ErrorType``."""

    def __init__(self, message: str, error_type: str = "InvalidSignatureException") -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type


class _ReceivedRequestSigner(SigV4Auth):
    """botocore's signer, told which headers the client signed instead of choosing them."""

    def __init__(self, credentials: Credentials, region: str, signed: list[str]) -> None:
        super().__init__(credentials, SERVICE, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        headers = HTTPHeaders()
        for name in self._signed:
            for value in request.headers.get_all(name) or []:
                headers[name] = value
        return headers


def _parse_authorization(value: str) -> dict[str, str]:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SignatureRefused(
            f"Authorization header: algorithm must be {ALGORITHM}", "IncompleteSignatureException"
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, item = part.strip().partition("=")
        if sep:
            fields[key] = item
    for key in ("Credential", "SignedHeaders", "Signature"):
        if not fields.get(key):
            raise SignatureRefused(
                f"Authorization header requires '{key}' parameter.", "IncompleteSignatureException"
            )
    return fields


def _credential(scope: str, region: str) -> tuple[LocalCredential, str]:
    parts = scope.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise SignatureRefused("Credential: expected <key>/<date>/<region>/<service>/aws4_request")
    access_key, date, scope_region, service, _ = parts
    known = LOCAL_CREDENTIALS.get(access_key)
    if known is None:
        raise SignatureRefused(
            "The security token included in the request is invalid.", "UnrecognizedClientException"
        )
    if service != SERVICE:
        raise SignatureRefused(f"Credential should be scoped to correct service: '{SERVICE}'.")
    if scope_region != region:
        raise SignatureRefused(f"Credential should be scoped to a valid region: '{region}'.")
    return known, date


def _timestamp(headers: Mapping[str, str], scope_date: str, now: datetime) -> str:
    amz_date = headers.get("x-amz-date", "")
    try:
        when = datetime.strptime(amz_date, AMZ_DATE).replace(tzinfo=UTC)
    except ValueError:
        raise SignatureRefused("X-Amz-Date: missing or not in the form 20240101T000000Z") from None
    if amz_date[:8] != scope_date:
        raise SignatureRefused("Credential date does not match X-Amz-Date.")
    if abs(now - when) > MAX_SKEW:
        raise SignatureRefused(
            f"Signature expired: {amz_date} is not within five minutes of the server's clock."
        )
    return amz_date


def verify(
    method: str,
    raw_path: str,
    headers: Mapping[str, str],
    body: bytes,
    region: str,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> LocalPrincipal:
    """The principal whose signature this request carries; ``SignatureRefused`` otherwise.
    ``headers`` maps lower-case names to values (repeated ones joined with ``,``)."""
    authorization = headers.get("authorization")
    if not authorization:
        raise SignatureRefused("Missing Authentication Token", "MissingAuthenticationTokenException")
    fields = _parse_authorization(authorization)
    known, scope_date = _credential(fields["Credential"], region)
    amz_date = _timestamp(headers, scope_date, now())
    signed = fields["SignedHeaders"].split(";")
    for required in ("host", "x-amz-date"):
        if required not in signed:
            raise SignatureRefused(f"SignedHeaders must include {required}.")
    missing = [name for name in signed if name not in headers]
    if missing:
        raise SignatureRefused(f"Signed header(s) not in the request: {', '.join(missing)}.")
    claimed_hash = headers.get("x-amz-content-sha256")
    if claimed_hash is not None and claimed_hash != sha256(body).hexdigest():
        raise SignatureRefused("x-amz-content-sha256 does not match the body.")

    request = AWSRequest(
        method=method,
        url=f"http://{headers['host']}{raw_path}",
        headers={name: headers[name] for name in signed},
        data=body,
    )
    request.context["timestamp"] = amz_date
    signer = _ReceivedRequestSigner(
        Credentials(fields["Credential"].split("/")[0], known.secret_key), region, signed
    )
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, fields["Signature"]):
        raise SignatureRefused(
            "The request signature we calculated does not match the signature you provided. Check your "
            "AWS Secret Access Key and signing method."
        )
    return known.principal


def lower_headers(items: Any) -> dict[str, str]:
    """Lower-case names; a header sent more than once is one value joined with ``,``, as SigV4 reads it."""
    out: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        out[key] = f"{out[key]},{value}" if key in out else value
    return out
