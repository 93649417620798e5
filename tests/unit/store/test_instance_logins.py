"""An instance row's login columns hold the secrets encrypted and give the same Auth back."""

from __future__ import annotations

from keyscope.redis.auth import Auth, Tls
from keyscope.store.instance_logins import LOGIN_COLUMNS, auth_of, sealed, store_login
from keyscope.store.secrets import SecretBox
from keyscope.store.tables import InstanceRow

KEY = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ib2R5\n-----END PRIVATE KEY-----\n"


def test_a_login_goes_in_encrypted_and_comes_back_whole() -> None:
    box = SecretBox(SecretBox.generate_key())
    tls = Tls("CA PEM", "CERT PEM", KEY, "redis.internal", verify=True)
    login = Auth("keyscope", "Pa55-word", tls)

    columns = sealed(login, box.encrypt)
    row = InstanceRow()
    store_login(row, login, box.encrypt)

    assert set(columns) == set(LOGIN_COLUMNS)
    assert "Pa55-word" not in repr(columns) and "c2VjcmV0" not in repr(columns)
    assert columns["tls"] == {"ca_cert": "CA PEM", "client_cert": "CERT PEM",
                              "server_name": "redis.internal", "verify": True}  # fmt: skip
    assert auth_of(row, box.decrypt) == login


def test_no_login_is_no_columns_and_the_default_user() -> None:
    box = SecretBox(SecretBox.generate_key())
    row = InstanceRow()
    store_login(row, Auth(), box.encrypt)
    assert (row.username, row.password_encrypted, row.tls, row.tls_client_key_encrypted) == (
        None, None, None, None,
    )  # fmt: skip
    assert auth_of(row, box.decrypt) == Auth()
