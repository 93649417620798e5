"""Secrets at rest: stored Redis passwords encrypted with a key kept apart from the database.

The key is a Fernet key (AES-128-CBC + HMAC-SHA256) held in a file only its owner can read,
or given in an environment variable. ``create_private_file`` is also how keyscope writes
any other file that holds secrets (the credentials file).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from keyscope.domain.errors import SecretKeyError

_PRIVATE_MODE = 0o600
_MAX_KEY_FILE_BYTES = 4096


def create_private_file(path: Path, data: bytes) -> bool:
    """Atomically create ``path`` with mode 0600 holding ``data``; False if it already exists.

    The content goes to a temporary file opened with ``O_EXCL`` and mode 0600 (never readable
    by others, not even briefly) and is then hard-linked into place, so a reader never sees a
    partial file and two processes racing to create the same file cannot overwrite each other:
    the loser gets False and should read the winner's file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE_MODE)
    try:
        try:
            os.fchmod(fd, _PRIVATE_MODE)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:
            # A file system without hard links: rename cannot refuse to replace, so check first.
            if path.exists():
                return False
            os.replace(tmp, path)
        _fsync_dir(path.parent)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def read_private_file(path: Path, *, max_bytes: int = _MAX_KEY_FILE_BYTES) -> bytes:
    """Read a regular file that must not be accessible by group or others.

    Raises ``SecretKeyError`` when the file is not a regular file or its mode lets anyone but
    the owner read or write it; the check runs on the opened descriptor (no check-then-use race).
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SecretKeyError(f"{path} is not a regular file")
        loose = stat.S_IMODE(info.st_mode) & 0o077
        if os.name == "posix" and loose:
            raise SecretKeyError(
                f"{path} is accessible by group or others "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); restrict it with: chmod 600 {path}"
            )
        chunks: list[bytes] = []
        remaining = max_bytes + 1
        while remaining > 0:
            chunk = os.read(fd, remaining)
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise SecretKeyError(f"{path} is larger than {max_bytes} bytes; it is not a key file")
    return data


class SecretBox:
    """Encrypts and decrypts short secrets (Redis passwords) with one Fernet key."""

    __slots__ = ("_fernet",)

    def __init__(self, key: bytes | str) -> None:
        try:
            self._fernet = Fernet(key.strip())
        except (ValueError, TypeError) as exc:
            raise SecretKeyError(
                "the secrets key is malformed: expected 32 url-safe base64-encoded bytes "
                "(as written by `SecretBox.generate_key()`)"
            ) from exc

    def __repr__(self) -> str:
        return "SecretBox(key=<hidden>)"

    @staticmethod
    def generate_key() -> str:
        """A new random key, in the form ``from_env`` and key files take."""
        return Fernet.generate_key().decode("ascii")

    @classmethod
    def from_env(cls, value: str) -> SecretBox:
        """A box keyed by the value of an environment variable (never echoed in errors)."""
        if not value.strip():
            raise SecretKeyError("the secrets key in the environment is empty")
        try:
            return cls(value)
        except SecretKeyError as exc:
            raise SecretKeyError(
                f"the secrets key in the environment is malformed: {exc}"
            ) from None

    @classmethod
    def from_key_file(cls, path: Path) -> SecretBox:
        """A box keyed by the file at ``path``, created with mode 0600 when absent.

        An existing file readable or writable by group or others is refused: the key would be
        as exposed as the passwords it protects.
        """
        if not path.exists():
            # If another process wins the race to create it, use the key it wrote.
            create_private_file(path, (cls.generate_key() + "\n").encode("ascii"))
        try:
            data = read_private_file(path)
        except OSError as exc:
            raise SecretKeyError(
                f"cannot read the secrets key file {path}: {exc.strerror}"
            ) from None
        try:
            return cls(data)
        except SecretKeyError:
            raise SecretKeyError(f"{path} does not hold a valid secrets key") from None

    def encrypt(self, plain: str) -> str:
        """An opaque ASCII token for ``plain``; a fresh IV makes each token different."""
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The plain text of ``token``; ``SecretKeyError`` if this key did not make it."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise SecretKeyError(
                "a stored secret cannot be decrypted: the secrets key is not the one it was "
                "encrypted with, or the stored value is corrupt"
            ) from exc
