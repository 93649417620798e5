"""Credentials: generated once with owner-only permissions, validated clearly, never shown."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from keyscope.api.credentials import (
    Credential,
    CredentialStore,
    ensure_credentials_file,
    generate_credential,
)
from keyscope.domain.errors import InvalidInput
from keyscope.store.secrets import create_private_file

SECRET = "s3cr3t-value-that-must-never-show"
PROJECT = "0123456789abcdef0123456789abcdef"


def entry(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"access_key": "AKEXAMPLE", "secret_key": SECRET, "projects": [PROJECT]}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def write(path: Path, document: Any) -> Path:
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    path.chmod(0o600)  # a credentials file others can read is refused
    return path


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """A umask that would leave new files world-readable unless the code insists on 0600."""
    old = os.umask(0)
    yield
    os.umask(old)


# --- generation ---------------------------------------------------------------------------


def test_generates_a_huawei_shaped_credential_and_project(tmp_path: Path) -> None:
    path = tmp_path / "data" / "credentials.json"
    store, created = ensure_credentials_file(path)
    assert created is not None
    assert re.fullmatch(r"[A-Z0-9]{20}", created.access_key)
    assert re.fullmatch(r"[A-Za-z0-9]{40}", created.secret_key.get_secret_value())
    (project,) = created.projects
    assert re.fullmatch(r"[0-9a-f]{32}", project)
    assert store.get(created.access_key) == created


@pytest.mark.usefixtures("permissive_umask")
def test_generated_file_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    ensure_credentials_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_generated_file_is_never_created_readable_and_lands_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[tuple[str, int, int]] = []
    real_open = os.open

    def recording_open(file: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        opened.append((str(file), flags, mode))
        return real_open(file, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", recording_open)
    path = tmp_path / "credentials.json"
    ensure_credentials_file(path)
    creations = [(f, flags, mode) for f, flags, mode in opened if flags & os.O_CREAT]
    assert creations, "the file must be created with os.open"
    for file, flags, mode in creations:
        assert flags & os.O_EXCL
        assert mode == 0o600
        assert Path(file).parent == tmp_path
    # Written under a temporary name, then linked into place: no temporary file is left over.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["credentials.json"]


def test_generated_file_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    _store, created = ensure_credentials_file(path)
    assert created is not None
    again, created_again = ensure_credentials_file(path)
    assert created_again is None
    assert again.get(created.access_key) == created
    assert len(again) == 1
    assert json.loads(path.read_text())["credentials"][0]["secret_key"] == (
        created.secret_key.get_secret_value()
    )


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    path = write(tmp_path / "credentials.json", {"credentials": [entry()]})
    before = path.read_bytes()
    store, created = ensure_credentials_file(path)
    assert created is None
    assert store.get("AKEXAMPLE") is not None
    assert path.read_bytes() == before


def test_losing_a_creation_race_loads_the_winners_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "credentials.json"
    winner = CredentialStore([generate_credential()])

    def another_process_wins(target: Path, data: bytes) -> bool:
        assert create_private_file(target, winner.to_json().encode())
        return create_private_file(target, data)

    monkeypatch.setattr("keyscope.api.credentials.create_private_file", another_process_wins)
    store, created = ensure_credentials_file(path)
    assert created is None
    assert [c.access_key for c in store] == [c.access_key for c in winner]


def test_generated_credentials_differ() -> None:
    first, second = generate_credential(), generate_credential()
    assert first.access_key != second.access_key
    assert first.secret_key != second.secret_key
    assert first.projects != second.projects


# --- the secret stays hidden --------------------------------------------------------------


def test_repr_and_str_hide_the_secret() -> None:
    credential = Credential("AKEXAMPLE", SecretStr(SECRET), frozenset({PROJECT}))
    for text in (repr(credential), str(credential), repr(CredentialStore([credential]))):
        assert SECRET not in text
        assert "AKEXAMPLE" in text
    assert f"{credential}" == f"AKEXAMPLE (projects: {PROJECT})"


def test_owns_only_its_projects() -> None:
    credential = Credential("AKEXAMPLE", SecretStr(SECRET), frozenset({PROJECT, "other"}))
    assert credential.owns(PROJECT)
    assert credential.owns("other")
    assert not credential.owns("f" * 32)
    assert not credential.owns("")


# --- loading and its errors ---------------------------------------------------------------


def test_loads_several_credentials(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.json",
        {"credentials": [entry(), entry(access_key="AKOTHER", projects=["p1", "p2"])]},
    )
    store = CredentialStore.from_file(path)
    other = store.get("AKOTHER")
    assert other is not None
    assert other.projects == frozenset({"p1", "p2"})
    assert store.get("AKMISSING") is None


@pytest.mark.parametrize(
    ("document", "match"),
    [
        ("{not json", r"is not valid JSON: .* at line 1 column 2"),
        ("", r"is not valid JSON"),
        ([], r"document: expected a JSON object"),
        ({}, r"credentials: Field required"),
        ({"credentials": {}}, r"credentials: Input should be a valid list"),
        ({"credentials": [1]}, r"credentials\[0\]: expected a JSON object"),
        ({"credentials": [entry(access_key=None)]}, r"credentials\[0\]\.access_key: Field req"),
        ({"credentials": [entry(secret_key=None)]}, r"credentials\[0\]\.secret_key: Field req"),
        ({"credentials": [entry(projects=None)]}, r"credentials\[0\]\.projects: Field required"),
        ({"credentials": [entry(projects=[])]}, r"credentials\[0\]\.projects is empty"),
        ({"credentials": [entry(projects=["a/b"])]}, r"credentials\[0\]\.projects\[0\]: String"),
        ({"credentials": [entry(access_key="A K")]}, r"credentials\[0\]\.access_key: String"),
        ({"credentials": [entry(secret_key=7)]}, r"credentials\[0\]\.secret_key: Input should"),
        ({"credentials": [entry(secret_key="short")]}, r"secret_key is shorter than 16"),
        ({"credentials": [entry(extra=SECRET)]}, r"credentials\[0\]\.extra: Extra inputs"),
        ({"credentials": [entry(), entry()]}, r"access key AKEXAMPLE is listed more than once"),
    ],
)
def test_malformed_files_give_clear_errors(tmp_path: Path, document: Any, match: str) -> None:
    path = write(tmp_path / "credentials.json", document)
    with pytest.raises(InvalidInput, match=match) as info:
        CredentialStore.from_file(path)
    assert str(path) in info.value.message
    assert SECRET not in info.value.message
    assert "short" not in info.value.message.replace("shorter", "")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        CredentialStore.from_file(tmp_path / "absent.json")


def test_non_utf8_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_bytes(b"\xff\xfe{}")
    path.chmod(0o600)
    with pytest.raises(InvalidInput, match="not UTF-8"):
        CredentialStore.from_file(path)


def test_ensure_reports_a_malformed_existing_file(tmp_path: Path) -> None:
    path = write(tmp_path / "credentials.json", "{}")
    with pytest.raises(InvalidInput, match="credentials: Field required"):
        ensure_credentials_file(path)
