"""AWS Signature Version 4 for the requests `verify` sends to Amazon Managed Service for Prometheus.

Written here because botocore cannot share the environment with the Kubernetes client (it pins
python-dateutil<3; kubernetes 37 needs >=3). The steps are AWS's (IAM user guide, "Create a signed
AWS API request", docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html):
a canonical request, the string to sign over its SHA-256, a key derived from the secret by four
HMACs (date, region, service, `aws4_request`), and the `Authorization` header. Known answers from
AWS's published examples are in tests/test_verify_metrics.py.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
# SHA-256 of an empty body: the payload hash of a GET.
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    # Temporary credentials (SSO, an assumed role) come with a session token, which is signed too.
    token: str | None = None

    def __repr__(self) -> str:  # never print the secret
        return f"Credentials(access_key={self.access_key!r}, secret_key='***', token={'***' if self.token else None})"


def _encode(text: str) -> str:
    # RFC 3986 unreserved characters stay; everything else is percent-encoded, space as %20 (not +).
    return quote(text, safe="-_.~")


def canonical_query(params: list[tuple[str, str]]) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted((_encode(k), _encode(v)) for k, v in params))


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(f"AWS4{secret_key}".encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def sign(
    method: str,
    url: str,
    params: list[tuple[str, str]],
    headers: dict[str, str],
    credentials: Credentials,
    region: str,
    service: str,
    when: datetime.datetime,
    payload_hash: str = EMPTY_SHA256,
) -> dict[str, str]:
    """The headers to add to the request: `x-amz-date`, the session token if any, `Authorization`.
    `url` is scheme, host and path; `params` its query; `headers` the other headers to sign."""
    parts = urlsplit(url)
    amz_date = when.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    added = {"x-amz-date": amz_date, **({"x-amz-security-token": credentials.token} if credentials.token else {})}
    signed = {k.lower(): " ".join(str(v).split()) for k, v in {"host": parts.netloc, **headers, **added}.items()}
    names = sorted(signed)
    # Each path segment encoded once (AWS services other than S3 encode the path twice: a segment
    # that needs no encoding, like every AMP path, reads the same either way).
    path = "/".join(_encode(segment) for segment in (parts.path or "/").split("/"))
    canonical = "\n".join(
        [
            method,
            path,
            canonical_query(params),
            "".join(f"{name}:{signed[name]}\n" for name in names),
            ";".join(names),
            payload_hash,
        ]
    )
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    signature = hmac.new(
        signing_key(credentials.secret_key, amz_date[:8], region, service), to_sign.encode(), hashlib.sha256
    ).hexdigest()
    authorization = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, SignedHeaders={';'.join(names)},"
        f" Signature={signature}"
    )
    return {**added, "Authorization": authorization}
