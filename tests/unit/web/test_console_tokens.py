"""Console bearer tokens: issued for a credential, refused when forged, expired or revoked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from keyscope.api import console_tokens
from keyscope.api.credentials import Credential, CredentialStore
from keyscope.domain.errors import Unauthorized

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ALICE = Credential("ALICE.KEY-1", SecretStr("alice-secret-key-0123456789"), frozenset({"p1"}))
BOB = Credential("BOB", SecretStr("bob-secret-key-0123456789abc"), frozenset({"p2"}))
STORE = CredentialStore([ALICE, BOB])


def test_a_token_names_its_credential_until_it_expires() -> None:
    token, expires = console_tokens.issue(ALICE, now=NOW)
    assert console_tokens.verify(token, STORE, now=NOW) is ALICE
    assert expires == int(NOW.timestamp()) + console_tokens.TOKEN_TTL_S
    later = NOW + timedelta(seconds=console_tokens.TOKEN_TTL_S)
    with pytest.raises(Unauthorized, match="expired"):
        console_tokens.verify(token, STORE, now=later)


def test_a_token_carries_no_secret_key() -> None:
    token, _ = console_tokens.issue(ALICE, now=NOW)
    assert ALICE.secret_key.get_secret_value() not in token


def test_a_token_with_its_access_key_or_expiry_changed_is_refused() -> None:
    token, _ = console_tokens.issue(ALICE, now=NOW)
    ak, expires, nonce, mac = token.rsplit(".", 3)
    for forged in (
        f"BOB.{expires}.{nonce}.{mac}",
        f"{ak}.{int(expires) + 3600}.{nonce}.{mac}",
        f"{ak}.{expires}.{nonce}x.{mac}",
        f"{ak}.{expires}.{nonce}.{mac[:-2]}",
        "not-a-token",
        f"{ak}.soon.{nonce}.{mac}",
    ):
        with pytest.raises(Unauthorized):
            console_tokens.verify(forged, STORE, now=NOW)


def test_rotating_the_secret_key_revokes_its_tokens() -> None:
    token, _ = console_tokens.issue(ALICE, now=NOW)
    rotated = Credential(ALICE.access_key, SecretStr("a-brand-new-secret-key-0123"), ALICE.projects)
    with pytest.raises(Unauthorized):
        console_tokens.verify(token, CredentialStore([rotated, BOB]), now=NOW)


def test_sign_in_needs_the_exact_secret_key_and_says_the_same_for_any_mistake() -> None:
    secret = ALICE.secret_key.get_secret_value()
    assert console_tokens.check_secret(STORE, ALICE.access_key, secret) is ALICE
    messages = set()
    for ak, sk in ((ALICE.access_key, secret + "x"), ("NOBODY", secret), (ALICE.access_key, "")):
        with pytest.raises(Unauthorized) as caught:
            console_tokens.check_secret(STORE, ak, sk)
        messages.add(caught.value.message)
    assert messages == {"wrong access key or secret key"}
