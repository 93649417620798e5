"""TLS to a node: one ``ssl.SSLContext`` per ``Tls`` value, a handshake bound by a deadline.

The certificates come as PEM text (a registration stores them, the CLI reads them from
files). Python's ``ssl`` loads a CA from memory but a client certificate and key only from a
path, so those two are handed to OpenSSL through an anonymous in-memory file where the
system has one (Linux ``memfd``), else through a private temporary file removed at once.

Failures keyscope can explain without trusting the other end (the certificate did not
verify, the server wants a client certificate, or refused ours) become ``TlsRefused``;
anything else a handshake meets is what a non-TLS service causes, and the caller reports it
like any other address where no Redis answered.
"""

from __future__ import annotations

import contextlib
import functools
import os
import select
import socket
import ssl
import tempfile
import time
from collections.abc import Iterator

from keyscope.domain.errors import InvalidInput, TlsRefused
from keyscope.redis.auth import Tls

_CERTIFICATE_ALERTS = frozenset(
    {
        "TLSV13_ALERT_CERTIFICATE_REQUIRED",
        "SSLV3_ALERT_HANDSHAKE_FAILURE",
        "SSLV3_ALERT_BAD_CERTIFICATE",
        "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
        "TLSV1_ALERT_UNKNOWN_CA",
        "TLSV1_ALERT_DECRYPT_ERROR",
        "TLSV1_ALERT_ACCESS_DENIED",
    }
)
"""Alerts (OpenSSL's reason names) a TLS Redis sends when it will not take our certificate."""


def refusal(exc: OSError, node: str, tls: Tls, *, handshake_done: bool) -> TlsRefused | None:
    """The explainable TLS failure behind ``exc``, or None (not a TLS Redis, it seems).

    With TLS 1.3 a server judges the client's certificate after the client has finished its
    handshake, so its alert comes with the first reply, or is lost when the server closes
    the connection first (the client's unread request makes that a reset): an alert about
    certificates, or the connection closed right after a completed handshake, both mean
    the server will not take the client certificate we sent (or none).
    """
    if isinstance(exc, ssl.SSLCertVerificationError):
        # OpenSSL's own words about the certificate (local text, nothing the server chose).
        why = exc.verify_message or "verification failed"
        return TlsRefused(f"TLS: the server's certificate was not accepted: {why}", node=node)
    alert = getattr(exc, "reason", None) in _CERTIFICATE_ALERTS
    closed = handshake_done and not isinstance(exc, TimeoutError)
    if not (alert or closed):
        return None
    if tls.client_cert:
        return TlsRefused("TLS: the server refused the client certificate", node=node)
    return TlsRefused("TLS: the server requires a client certificate", node=node)


@contextlib.contextmanager
def _pem_path(pem: str) -> Iterator[str]:
    """A path OpenSSL can read ``pem`` from, gone when the block ends."""
    data = pem.encode()
    if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
        fd = os.memfd_create("keyscope-tls", getattr(os, "MFD_CLOEXEC", 0))
        try:
            os.write(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryDirectory(prefix="keyscope-tls-") as folder:  # mode 0700
        path = os.path.join(folder, "pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        yield path


@functools.lru_cache(maxsize=64)
def context(tls: Tls) -> ssl.SSLContext:
    """The client context for ``tls`` (built once per distinct value); InvalidInput when a
    certificate or key does not load."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if not tls.verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls.ca_cert:
        try:
            ctx.load_verify_locations(cadata=tls.ca_cert)
        except (ssl.SSLError, ValueError):
            raise _unloadable("the CA certificate does not load (not PEM)") from None
    if tls.client_cert or tls.client_key:
        if not (tls.client_cert and tls.client_key):
            raise InvalidInput(
                "a TLS client certificate needs its key, and the key its certificate",
                code="DCS.4002",
            )
        try:
            with _pem_path(tls.client_cert) as cert, _pem_path(tls.client_key) as key:
                ctx.load_cert_chain(cert, key)
        except (ssl.SSLError, ValueError):
            raise _unloadable(
                "the client certificate and key do not load (not PEM, or not a pair)"
            ) from None
    return ctx


def _unloadable(why: str) -> InvalidInput:
    # Never the PEM text in the message: the key is a secret.
    return InvalidInput(f"TLS: {why}", code="DCS.4002")


def wrap(sock: socket.socket, tls: Tls, host: str, deadline: float) -> ssl.SSLSocket:
    """``sock`` after a TLS handshake that ends by ``deadline`` (``time.monotonic``).

    The handshake runs non-blocking with one ``select`` per step, so a server that sends a
    byte now and then cannot stretch it past the deadline. Raises TimeoutError, OSError or
    ssl.SSLError as the handshake met them.
    """
    name = tls.server_name or host
    sock.setblocking(False)
    wrapped = context(tls).wrap_socket(sock, server_hostname=name, do_handshake_on_connect=False)
    try:
        while True:
            try:
                wrapped.do_handshake()
                break
            except ssl.SSLWantReadError:
                readable, writable = [wrapped], []
            except ssl.SSLWantWriteError:
                readable, writable = [], [wrapped]
            left = deadline - time.monotonic()
            if left <= 0 or not any(select.select(readable, writable, [], left)[:2]):
                raise TimeoutError("TLS handshake timed out")
        wrapped.setblocking(True)
    except BaseException:
        wrapped.close()
        raise
    return wrapped
