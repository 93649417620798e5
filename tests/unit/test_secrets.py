"""Secrets at rest: round trip, an owner-only key file, loose files and wrong keys refused."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from keyscope.domain.errors import KeyscopeError, SecretKeyError
from keyscope.store.secrets import SecretBox, create_private_file

PASSWORD = "redis-pässwörd with spaces & symbols!"


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.fixture
def box() -> SecretBox:
    return SecretBox.from_env(SecretBox.generate_key())


def test_round_trip(box: SecretBox) -> None:
    token = box.encrypt(PASSWORD)
    assert PASSWORD not in token
    assert token.isascii()
    assert box.decrypt(token) == PASSWORD
    assert box.decrypt(box.encrypt("")) == ""


def test_each_encryption_is_different(box: SecretBox) -> None:
    assert box.encrypt(PASSWORD) != box.encrypt(PASSWORD)


@pytest.mark.usefixtures("permissive_umask")
def test_key_file_is_created_owner_only_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret.key"
    first = SecretBox.from_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = SecretBox.from_key_file(path)
    assert second.decrypt(first.encrypt(PASSWORD)) == PASSWORD
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret.key"]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o606])
def test_key_file_readable_or_writable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "secret.key"
    SecretBox.from_key_file(path)
    path.chmod(mode)
    with pytest.raises(SecretKeyError, match=f"mode {mode:04o}.*chmod 600") as info:
        SecretBox.from_key_file(path)
    assert path.read_text().strip() not in info.value.message


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_owner_only_modes_are_accepted(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "secret.key"
    path.write_text(SecretBox.generate_key())
    path.chmod(mode)
    SecretBox.from_key_file(path)


def test_key_file_with_garbage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    assert create_private_file(path, b"not a key\n")
    with pytest.raises(SecretKeyError, match="does not hold a valid secrets key"):
        SecretBox.from_key_file(path)


def test_key_file_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    path.mkdir(mode=0o700)
    with pytest.raises(SecretKeyError, match="not a regular file"):
        SecretBox.from_key_file(path)


def test_wrong_key_raises_a_typed_error(box: SecretBox) -> None:
    token = box.encrypt(PASSWORD)
    other = SecretBox.from_env(SecretBox.generate_key())
    with pytest.raises(SecretKeyError, match="cannot be decrypted") as info:
        other.decrypt(token)
    assert isinstance(info.value, KeyscopeError)
    assert PASSWORD not in info.value.message


@pytest.mark.parametrize("token", ["", "garbage", "gAAAAA" + "A" * 100, "é-not-ascii"])
def test_corrupt_token_raises_a_typed_error(box: SecretBox, token: str) -> None:
    with pytest.raises(SecretKeyError):
        box.decrypt(token)


@pytest.mark.parametrize("value", ["", "   ", "too-short", "x" * 44])
def test_malformed_environment_key_is_refused_without_echoing_it(value: str) -> None:
    with pytest.raises(SecretKeyError, match="in the environment is") as info:
        SecretBox.from_env(value)
    if value.strip():
        assert value not in info.value.message


def test_environment_key_tolerates_surrounding_whitespace() -> None:
    key = SecretBox.generate_key()
    assert SecretBox.from_env(f" {key}\n").decrypt(SecretBox.from_env(key).encrypt("x")) == "x"


def test_repr_hides_the_key() -> None:
    key = SecretBox.generate_key()
    assert key not in repr(SecretBox.from_env(key))


def test_create_private_file_never_replaces(tmp_path: Path) -> None:
    path = tmp_path / "f"
    assert create_private_file(path, b"first")
    assert not create_private_file(path, b"second")
    assert path.read_bytes() == b"first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]
