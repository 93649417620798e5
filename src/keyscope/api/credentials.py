"""Access keys: who may call the API, with which secret, on which projects.

The credentials file is JSON::

    {"credentials": [{"access_key": "...", "secret_key": "...", "projects": ["<project_id>"]}]}

A first start with no file generates one pair and one project, like a fresh Huawei Cloud
account: a 20-character upper-case AK, a 40-character SK and a 32-hex-digit project id.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, SecretStr, StringConstraints, ValidationError

from keyscope.api.signing import ACCESS_KEY_PATTERN
from keyscope.domain.errors import InvalidInput, SecretKeyError
from keyscope.store.secrets import create_private_file, read_private_file

PROJECT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
"""What a project id may look like (Huawei's are 32 lower-case hex digits)."""

MAX_CREDENTIALS_FILE_BYTES = 16 * 1024 * 1024
"""A larger credentials file is refused rather than read into memory."""

MIN_SECRET_KEY_LENGTH = 16
"""Shorter secret keys are refused: the HMAC is only as strong as the key."""

__all__ = ["ACCESS_KEY_PATTERN", "Credential", "CredentialStore"]  # the pattern lives in signing

_AK_ALPHABET = string.ascii_uppercase + string.digits
_SK_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Credential:
    """One access key, its secret and the projects it may act on; repr never shows the secret."""

    access_key: str
    secret_key: SecretStr = field(repr=False)
    projects: frozenset[str]

    def owns(self, project_id: str) -> bool:
        """Whether this credential may act on ``project_id``."""
        return project_id in self.projects

    def __str__(self) -> str:
        return f"{self.access_key} (projects: {', '.join(sorted(self.projects))})"


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    access_key: Annotated[str, StringConstraints(pattern=ACCESS_KEY_PATTERN)]
    secret_key: SecretStr
    projects: list[Annotated[str, StringConstraints(pattern=PROJECT_ID_PATTERN)]]


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    credentials: list[_Entry]


class CredentialStore:
    """The credentials the service accepts, looked up by access key."""

    def __init__(self, credentials: Iterable[Credential] = ()) -> None:
        by_key: dict[str, Credential] = {}
        for credential in credentials:
            if credential.access_key in by_key:
                raise InvalidInput(f"access key {credential.access_key} is listed more than once")
            by_key[credential.access_key] = credential
        self._by_key = by_key

    def __repr__(self) -> str:
        return f"CredentialStore(access_keys={sorted(self._by_key)!r})"

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[Credential]:
        return iter(self._by_key.values())

    def get(self, access_key: str) -> Credential | None:
        """The credential with this access key, or None."""
        return self._by_key.get(access_key)

    @classmethod
    def from_file(cls, path: Path) -> CredentialStore:
        """Load and validate a credentials file; ``InvalidInput`` says what is wrong and where."""
        try:
            # Like the secrets key file: refused when group or others may read or write it.
            text = read_private_file(path, max_bytes=MAX_CREDENTIALS_FILE_BYTES).decode("utf-8")
        except FileNotFoundError:
            raise InvalidInput(f"credentials file {path} does not exist") from None
        except OSError as exc:
            raise InvalidInput(f"cannot read credentials file {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise InvalidInput(f"credentials file {path} is not UTF-8 text") from None
        except SecretKeyError as exc:
            raise InvalidInput(f"credentials file: {exc.message}") from None
        return cls.from_json(text, source=str(path))

    @classmethod
    def from_json(cls, text: str, *, source: str = "credentials") -> CredentialStore:
        """Parse the credentials file format from a string."""
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            # The position only: the decoder's message never quotes the document, but be sure.
            raise InvalidInput(
                f"{source} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from None
        try:
            parsed = _File.model_validate(raw)
        except ValidationError as exc:
            raise InvalidInput(f"{source} is malformed: {_describe(exc)}") from None
        credentials = []
        for index, entry in enumerate(parsed.credentials):
            where = f"{source}: credentials[{index}]"
            if len(entry.secret_key.get_secret_value()) < MIN_SECRET_KEY_LENGTH:
                raise InvalidInput(
                    f"{where}.secret_key is shorter than {MIN_SECRET_KEY_LENGTH} characters"
                )
            if not entry.projects:
                raise InvalidInput(f"{where}.projects is empty; list at least one project id")
            credentials.append(
                Credential(entry.access_key, entry.secret_key, frozenset(entry.projects))
            )
        try:
            return cls(credentials)
        except InvalidInput as exc:
            raise InvalidInput(f"{source}: {exc.message}") from None

    def to_json(self) -> str:
        """The credentials file format, secrets included: write it only with mode 0600."""
        document = {
            "credentials": [
                {
                    "access_key": c.access_key,
                    "secret_key": c.secret_key.get_secret_value(),
                    "projects": sorted(c.projects),
                }
                for c in self
            ]
        }
        return json.dumps(document, indent=2) + "\n"


def _describe(exc: ValidationError) -> str:
    """Each problem as ``location: message``, never the offending value (it may be a secret)."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        location = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]
        ).lstrip(".")
        message = "expected a JSON object" if error["type"] == "model_type" else error["msg"]
        problems.append(f"{location or 'document'}: {message}")
    return "; ".join(problems)


def generate_credential(projects: Iterable[str] | None = None) -> Credential:
    """A new random credential; with no projects given, it gets one new project id."""
    access_key = "".join(secrets.choice(_AK_ALPHABET) for _ in range(20))
    secret_key = "".join(secrets.choice(_SK_ALPHABET) for _ in range(40))
    owned = frozenset(projects) if projects is not None else frozenset({secrets.token_hex(16)})
    return Credential(access_key, SecretStr(secret_key), owned)


def ensure_credentials_file(path: Path) -> tuple[CredentialStore, Credential | None]:
    """Load the credentials file, creating it with one new credential if it does not exist.

    Returns the store and, when this call created the file, the new credential so the caller
    can show its access key and project id (never its secret: that stays in the file). The
    file is created atomically with mode 0600; if another process creates it first, its file
    is loaded and None returned.
    """
    if path.exists():
        return CredentialStore.from_file(path), None
    credential = generate_credential()
    store = CredentialStore([credential])
    if not create_private_file(path, store.to_json().encode("utf-8")):
        return CredentialStore.from_file(path), None
    return store, credential
