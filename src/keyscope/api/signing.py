"""Request signing ``SDK-HMAC-SHA256`` exactly as the Huawei Cloud SDK does it: verify and sign.

Pure functions over plain values, no web framework. The canonical request is
``METHOD\\nURI/\\nquery\\nheaders\\n\\nsigned-headers\\npayload-sha256`` and the signature is
``HMAC-SHA256(SK, "SDK-HMAC-SHA256\\n" + X-Sdk-Date + "\\n" + sha256(canonical request))``;
``reference/dcs-cache-analysis-api.md`` has the details and test vectors.

Strings taken from the wire (path, query, header values) are expected the way an ASGI server
hands them over: each character is one byte of the wire (Latin-1), so non-ASCII header values
that the SDK sends as UTF-8 bytes are hashed byte for byte as the SDK hashed them.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote_to_bytes

from keyscope import defaults
from keyscope.domain.errors import Unauthorized

if TYPE_CHECKING:  # the CLI client signs with this module and loads neither pydantic nor these
    from keyscope.api.credentials import Credential, CredentialStore

ACCESS_KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
"""What an access key may look like; the credentials file accepts the same shape."""

ALGORITHM = "SDK-HMAC-SHA256"
"""The only algorithm accepted: the SDK's default and what DCS clients use."""

DATE_FORMAT = "%Y%m%dT%H%M%SZ"
"""Format of ``X-Sdk-Date``, always UTC."""

EMPTY_PAYLOAD_HASH = hashlib.sha256(b"").hexdigest()
"""Payload hash of a request without a body."""

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
"""``X-Sdk-Content-Sha256`` value by which the SDK leaves non-JSON bodies unsigned; refused."""

REQUIRED_SIGNED_HEADERS = ("host", "x-sdk-date")
"""Headers every accepted signature must cover."""

_AUTH_PARAMS = ("Access", "SignedHeaders", "Signature")
_ACCESS_KEY_RE = re.compile(ACCESS_KEY_PATTERN)
_DATE_RE = re.compile(r"\d{8}T\d{6}Z")
_SIGNATURE_RE = re.compile(r"[0-9a-fA-F]{64}")
_HEADER_NAME_RE = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]{1,64}")
_SAFE_TOKEN_RE = re.compile(r"[A-Za-z0-9._-]{1,32}")
_MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class SignedRequest:
    """A request as received (or about to be sent): raw path and query, headers, body.

    ``path`` is still percent-encoded as on the wire and ``query`` is the raw query string
    without ``?``. Header names are normalised to lower case on construction, so lookups are
    case-insensitive; two spellings of one name with different values are refused.
    """

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes = field(default=b"", repr=False)  # may carry a Redis password

    def __post_init__(self) -> None:
        normalised: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            if key in normalised and normalised[key] != value:
                shown = key if _HEADER_NAME_RE.fullmatch(key) else "a header"
                raise Unauthorized(f"{shown} is given twice with different values")
            normalised[key] = value
        object.__setattr__(self, "headers", MappingProxyType(normalised))


@dataclass(frozen=True)
class _Authorization:
    access_key: str
    signed_headers: tuple[str, ...]
    signature: str


def verify_request(
    req: SignedRequest,
    credentials: CredentialStore,
    *,
    now: datetime,
    window_s: int = defaults.SIGNATURE_WINDOW_S,
    replay: ReplayCache | None = None,
) -> Credential:
    """The credential that signed ``req``; ``Unauthorized`` if the signature is missing or wrong.

    ``now`` is the server clock (timezone-aware); ``X-Sdk-Date`` may differ from it by at most
    ``window_s`` seconds either way. With a ``replay`` cache, a signature already accepted is
    refused the second time. Error messages never contain a secret or the expected signature.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    auth = _parse_authorization(req.headers.get("authorization"))
    _check_signed_headers(auth.signed_headers, req.headers)
    signed_at = parse_sdk_date(req.headers["x-sdk-date"])
    skew = (now - signed_at).total_seconds()
    if abs(skew) > window_s:
        raise Unauthorized(
            f"X-Sdk-Date {req.headers['x-sdk-date']} is {abs(skew):.0f} s "
            f"{'behind' if skew > 0 else 'ahead of'} the server clock "
            f"(allowed: {window_s} s); check the client's clock"
        )
    credential = credentials.get(auth.access_key)
    if credential is None:
        raise Unauthorized(f"unknown access key {auth.access_key}")
    canonical = canonical_request(req, auth.signed_headers)
    expected = _signature(credential.secret_key.get_secret_value(), signed_at, canonical)
    if not hmac.compare_digest(expected.encode("ascii"), auth.signature.lower().encode("ascii")):
        raise Unauthorized(
            "signature does not match: the request was altered, or signed with another "
            "secret key, or canonicalised differently"
        )
    if replay is not None and not replay.admit(
        req.method,
        auth.access_key,
        auth.signature.lower(),
        expires_at=signed_at.timestamp() + window_s,
        now=now.timestamp(),
    ):
        raise Unauthorized("this signed request was already used; sign a new one")
    return credential


def sign_request(
    req: SignedRequest, access_key: str, secret_key: str, *, now: datetime | None = None
) -> SignedRequest:
    """``req`` signed as the SDK signs it: query canonicalised, X-Sdk-Date and Authorization set.

    ``req.headers`` must hold ``Host`` (``host[:port]`` of the endpoint). An existing
    ``X-Sdk-Date`` is kept, otherwise ``now`` (default: the current time) is used. Every header
    whose name has no underscore is signed, as the SDK does; send the returned path, query and
    headers unchanged.
    """
    if not _ACCESS_KEY_RE.fullmatch(access_key):
        raise ValueError("access key has an invalid form")
    headers = {k: _wire_bytes(v).strip().decode("latin-1") for k, v in req.headers.items()}
    headers.pop("authorization", None)
    if "host" not in headers:
        raise ValueError("sign_request needs a Host header: host[:port] of the endpoint")
    if "x-sdk-date" in headers:
        try:
            signed_at = parse_sdk_date(headers["x-sdk-date"])
        except Unauthorized as exc:
            raise ValueError(exc.message) from None
    else:
        signed_at = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        headers["x-sdk-date"] = signed_at.strftime(DATE_FORMAT)
    signed_headers = sorted(name for name in headers if "_" not in name)
    draft = SignedRequest(req.method, req.path, canonical_query(req.query), headers, req.body)
    signature = _signature(secret_key, signed_at, canonical_request(draft, signed_headers))
    headers["authorization"] = (
        f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(signed_headers)}, "
        f"Signature={signature}"
    )
    return SignedRequest(draft.method, draft.path, draft.query, headers, draft.body)


def encode_path_segment(value: str) -> str:
    """A path parameter encoded as the SDK encodes it (every reserved character, ``/`` too)."""
    return quote(value, safe="")


def parse_sdk_date(value: str) -> datetime:
    """The UTC time of an ``X-Sdk-Date`` value ``YYYYMMDDTHHMMSSZ``; strict, no variants."""
    if not _DATE_RE.fullmatch(value):
        raise Unauthorized("X-Sdk-Date is malformed: expected YYYYMMDDTHHMMSSZ in UTC")
    try:
        return datetime.strptime(value, DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise Unauthorized("X-Sdk-Date is not a valid date and time") from None


def canonical_uri(raw_path: str) -> str:
    """Percent-decode, re-encode each segment with only unreserved characters kept, end in ``/``."""
    try:
        decoded = unquote_to_bytes(_wire_bytes(raw_path)).decode("utf-8")
    except UnicodeDecodeError:
        raise Unauthorized("the request path is not valid UTF-8 once percent-decoded") from None
    encoded = "/".join(quote(segment, safe="~") for segment in decoded.split("/"))
    return encoded if encoded.endswith("/") else encoded + "/"


def canonical_query(raw_query: str) -> str:
    """Decode the pairs as the web framework will, sort them by name, re-encode them.

    Decoding matches ``urllib.parse.parse_qsl(keep_blank_values=True)`` (what Starlette uses),
    so two query strings with the same canonical form mean the same to the application. Values
    of a repeated name keep their order: the SDK sends its canonical query as the URL query, so
    this reproduces it even where the SDK sorted values that are not strings.
    """
    pairs: list[tuple[str, str]] = []
    for piece in _wire_bytes(raw_query).split(b"&"):
        if not piece:
            continue
        name, _, value = piece.partition(b"=")
        try:
            pairs.append((_decode_query_part(name), _decode_query_part(value)))
        except UnicodeDecodeError:
            raise Unauthorized("the query string is not valid UTF-8 once decoded") from None
    pairs.sort(key=lambda pair: pair[0])
    return "&".join(f"{quote(n, safe='~')}={quote(v, safe='~')}" for n, v in pairs)


def canonical_request(req: SignedRequest, signed_headers: Sequence[str]) -> bytes:
    """The bytes whose SHA-256 is signed, for the given list of signed header names."""
    header_lines = b"".join(
        name.encode("ascii") + b":" + _wire_bytes(req.headers[name]).strip() + b"\n"
        for name in signed_headers
    )
    return b"\n".join(
        [
            req.method.upper().encode("utf-8"),
            canonical_uri(req.path).encode("ascii"),
            canonical_query(req.query).encode("ascii"),
            header_lines,
            ";".join(signed_headers).encode("ascii"),
            _payload_hash(req).encode("ascii"),
        ]
    )


def string_to_sign(signed_at: datetime, canonical: bytes) -> bytes:
    """``SDK-HMAC-SHA256\\n<X-Sdk-Date>\\n<hex sha256 of the canonical request>``."""
    digest = hashlib.sha256(canonical).hexdigest()
    return f"{ALGORITHM}\n{signed_at.strftime(DATE_FORMAT)}\n{digest}".encode("ascii")


def _signature(secret_key: str, signed_at: datetime, canonical: bytes) -> str:
    message = string_to_sign(signed_at, canonical)
    return hmac.new(secret_key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _payload_hash(req: SignedRequest) -> str:
    if not req.body:
        # The SDK ignores X-Sdk-Content-Sha256 when there is no body.
        return EMPTY_PAYLOAD_HASH
    if req.headers.get("x-sdk-content-sha256", "").strip().upper() == UNSIGNED_PAYLOAD:
        raise Unauthorized("unsigned payloads are not accepted; sign the body")
    # A declared hash other than the body's own cannot match the signature below either.
    return hashlib.sha256(req.body).hexdigest()


def _decode_query_part(part: bytes) -> str:
    return unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")


def _wire_bytes(text: str) -> bytes:
    """The bytes a wire string stands for: Latin-1 per character, UTF-8 if it cannot be."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _parse_authorization(value: str | None) -> _Authorization:
    if value is None or not value.strip():
        raise Unauthorized("missing Authorization header: the request must be signed")
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        shown = f" {algorithm}" if _SAFE_TOKEN_RE.fullmatch(algorithm) else ""
        raise Unauthorized(f"unsupported signing algorithm{shown}; use {ALGORITHM}")
    params: dict[str, str] = {}
    for part in rest.split(","):
        name, eq, param = part.strip().partition("=")
        if not eq or name not in _AUTH_PARAMS or name in params:
            raise Unauthorized(
                f"malformed Authorization header: expected {ALGORITHM} "
                "Access=<AK>, SignedHeaders=<h1;h2>, Signature=<hex>"
            )
        params[name] = param.strip()
    missing = [name for name in _AUTH_PARAMS if not params.get(name)]
    if missing:
        raise Unauthorized(f"malformed Authorization header: no {', '.join(missing)}")
    if not _ACCESS_KEY_RE.fullmatch(params["Access"]):
        raise Unauthorized("malformed Authorization header: invalid access key")
    if not _SIGNATURE_RE.fullmatch(params["Signature"]):
        raise Unauthorized("malformed Authorization header: Signature must be 64 hex digits")
    names = tuple(params["SignedHeaders"].split(";"))
    if not all(_HEADER_NAME_RE.fullmatch(n) for n in names) or len(set(names)) != len(names):
        raise Unauthorized(
            "malformed Authorization header: SignedHeaders must be distinct lower-case "
            "header names separated by ';'"
        )
    return _Authorization(params["Access"], names, params["Signature"])


def _check_signed_headers(signed: Sequence[str], headers: Mapping[str, str]) -> None:
    for required in REQUIRED_SIGNED_HEADERS:
        if required not in signed:
            raise Unauthorized(f"SignedHeaders must include {required}")
    if "x-sdk-date" not in headers:
        raise Unauthorized("missing X-Sdk-Date header")
    for name in signed:
        if name not in headers:
            raise Unauthorized(f"signed header {name} is not in the request")


class ReplayCache:
    """Refuses a second use of an accepted signature while its date is inside the window.

    Per process and bounded: with several processes each keeps its own (or pass none). Only
    the methods in ``methods`` are checked, by default those that change state. The SDK
    signs without a nonce and ``X-Sdk-Date`` has one-second resolution, so two identical
    calls in the same second carry the same signature: with ``grace_s`` > 0 a copy arriving
    within that many seconds of the first use is admitted (a legitimate repeat), a later
    one refused; with 0 every second use is refused.
    When full, the entry closest to expiry is dropped first.
    """

    def __init__(
        self,
        *,
        max_entries: int = 100_000,
        methods: frozenset[str] = _MUTATING_METHODS,
        grace_s: float = 0.0,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self._max_entries = max_entries
        self._methods = frozenset(m.upper() for m in methods)
        self._grace_s = grace_s
        self._expiry: dict[tuple[str, str], float] = {}
        self._first_seen: dict[tuple[str, str], float] = {}
        self._heap: list[tuple[float, tuple[str, str]]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._expiry)

    def admit(
        self, method: str, access_key: str, signature: str, *, expires_at: float, now: float
    ) -> bool:
        """True the first time a (key, signature) is seen before ``expires_at``, else False."""
        if method.upper() not in self._methods:
            return True
        key = (access_key, signature)
        with self._lock:
            while self._heap and self._heap[0][0] <= now:
                self._pop()
            if key in self._expiry:
                return now - self._first_seen[key] < self._grace_s
            while len(self._heap) >= self._max_entries:
                self._pop()
            self._expiry[key] = expires_at
            self._first_seen[key] = now
            heapq.heappush(self._heap, (expires_at, key))
            return True

    def _pop(self) -> None:
        _, old = heapq.heappop(self._heap)
        del self._expiry[old]
        del self._first_seen[old]
