"""The app takes its secrets key from the settings (environment) or a private key file."""

from __future__ import annotations

from pathlib import Path

import pytest

from keyscope.api.app import secret_box
from keyscope.settings import Settings
from keyscope.store.secrets import SecretBox


def test_a_key_from_the_environment_is_used_and_no_key_file_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = SecretBox.generate_key()
    monkeypatch.setenv("KEYSCOPE_SECRET_KEY", key)
    box = secret_box(Settings(data_dir=tmp_path))
    assert SecretBox(key).decrypt(box.encrypt("pw")) == "pw"
    assert not (tmp_path / "secret.key").exists()


def test_without_one_a_private_key_file_is_created_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEYSCOPE_SECRET_KEY", raising=False)
    token = secret_box(Settings(data_dir=tmp_path)).encrypt("pw")
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert secret_box(Settings(data_dir=tmp_path)).decrypt(token) == "pw"
