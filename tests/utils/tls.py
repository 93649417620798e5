"""TLS redis-servers for tests: a CA made at test time, servers with ``--port 0`` (TLS only).

Every server listens on its TLS port alone, so a single plain-TCP connection anywhere in
keyscope would fail the test. Replication and the cluster bus run over TLS too
(``--tls-replication yes --tls-cluster yes``). The test process itself talks to them with
redis-py over TLS, presenting the client certificate.
"""

from __future__ import annotations

import datetime
import ipaddress
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from keyscope.redis.auth import Tls
from tests.utils.servers import REDIS_CLI, Cluster, RedisServer, free_port, wait_in_sync


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _issue(
    subject: str,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    dns: tuple[str, ...] = (),
    ips: tuple[str, ...] = (),
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer or (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        builder = builder.add_extension(usage, critical=True)
    else:
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        purposes = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        builder = builder.add_extension(x509.ExtendedKeyUsage(purposes), critical=False)
    return builder.sign(issuer_key, hashes.SHA256()), key


@dataclass(frozen=True)
class Certs:
    """A CA, a server certificate (localhost, 127.0.0.1) and a client one, as PEM files."""

    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def server_cert(self) -> Path:
        return self.folder / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.folder / "server.key"

    @property
    def client_cert(self) -> Path:
        return self.folder / "client.pem"

    @property
    def client_key(self) -> Path:
        return self.folder / "client.key"

    @property
    def named_cert(self) -> Path:
        """A server certificate for the name ``redis.test`` only (no IP address)."""
        return self.folder / "named.pem"

    @property
    def named_key(self) -> Path:
        return self.folder / "named.key"

    def tls(self, *, client: bool = True, **kw: Any) -> Tls:
        """keyscope's settings for these certificates (client certificate or not)."""
        return Tls(
            ca_cert=self.ca.read_text(),
            client_cert=self.client_cert.read_text() if client else None,
            client_key=self.client_key.read_text() if client else None,
            **kw,
        )


def make_certs(folder: Path) -> Certs:
    folder.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = _issue("keyscope test CA", None, ca=True)
    issuer = (ca_cert.subject, ca_key)
    pairs = {
        "server": _issue("localhost", issuer, dns=("localhost",), ips=("127.0.0.1",)),
        "named": _issue("redis.test", issuer, dns=("redis.test",)),
        "client": _issue("keyscope", issuer),
    }
    (folder / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    for stem, (cert, key) in pairs.items():
        (folder / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (folder / f"{stem}.key").write_bytes(_pem_key(key))
        (folder / f"{stem}.key").chmod(0o600)
    return Certs(folder)


FAST_SYNC = ["--repl-diskless-sync-delay", "0"]
"""Replicas (and keyscope's snapshots) start their sync at once, not after 5 s."""


@dataclass
class TlsRedisServer(RedisServer):
    """A redis-server reachable over TLS only; ``port`` is its TLS port."""

    certs: Certs | None = None
    named: bool = False
    """Serve the ``redis.test`` certificate (no IP address in it)."""

    def client(self, db: int = 0, **kw: object) -> redis.Redis:
        assert self.certs is not None
        return redis.Redis(  # type: ignore[call-overload, no-any-return]
            host=self.host, port=self.port, password=self.password, db=db, ssl=True,
            ssl_ca_certs=str(self.certs.ca), ssl_certfile=str(self.certs.client_cert),
            ssl_keyfile=str(self.certs.client_key), ssl_check_hostname=not self.named, **kw,
        )  # fmt: skip


def tls_args(certs: Certs, port: int, *, auth_clients: bool, named: bool = False) -> list[str]:
    cert, key = (certs.named_cert, certs.named_key) if named else (
        certs.server_cert, certs.server_key
    )  # fmt: skip
    return [
        "--port", "0", "--tls-port", str(port),
        "--tls-cert-file", str(cert), "--tls-key-file", str(key),
        "--tls-ca-cert-file", str(certs.ca),
        "--tls-auth-clients", "yes" if auth_clients else "no",
        "--tls-replication", "yes", "--tls-cluster", "yes",
    ]  # fmt: skip


def start_tls_server(
    workdir: Path,
    certs: Certs,
    *,
    auth_clients: bool = True,
    password: str | None = None,
    extra: list[str] | None = None,
    named: bool = False,
    port: int | None = None,
    binary: str | None = None,
) -> TlsRedisServer:
    port = port or free_port()
    args = [*tls_args(certs, port, auth_clients=auth_clients, named=named), *FAST_SYNC,
            *(extra or [])]  # fmt: skip
    server = TlsRedisServer(
        port=port, workdir=workdir, password=password, extra=args, certs=certs, named=named
    )
    if binary is not None:
        server.binary = binary
    return server.start()  # type: ignore[return-value]


def start_tls_replica(master: TlsRedisServer, workdir: Path) -> TlsRedisServer:
    assert master.certs is not None
    replica = start_tls_server(
        workdir, master.certs, password=master.password,
        extra=["--replicaof", master.host, str(master.port)],
    )  # fmt: skip
    wait_in_sync(master, replica)
    return replica


def _cluster_port() -> int:
    """A free port whose cluster bus port (+10000) stays below 65000."""
    while (port := free_port()) >= 55000:
        pass
    return port


@dataclass
class TlsCluster(Cluster):
    certs: Certs | None = field(default=None)

    def client(self) -> redis.RedisCluster:
        assert self.certs is not None
        m = self.masters[0]
        return redis.RedisCluster(
            host=m.host, port=m.port, ssl=True, ssl_ca_certs=str(self.certs.ca),
            ssl_certfile=str(self.certs.client_cert), ssl_keyfile=str(self.certs.client_key),
        )  # fmt: skip


def start_tls_cluster(workdir: Path, certs: Certs, shards: int = 3) -> TlsCluster:
    """``shards`` masters with one replica each, joined over TLS by redis-cli."""
    node = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", "5000", *FAST_SYNC]  # fmt: skip
    servers = [
        start_tls_server(workdir / f"node{i}", certs, extra=node, port=_cluster_port())
        for i in range(shards * 2)
    ]
    args = [REDIS_CLI, "--tls", "--cacert", str(certs.ca), "--cert", str(certs.client_cert),
            "--key", str(certs.client_key), "--cluster", "create",
            *[s.address for s in servers], "--cluster-replicas", "1", "--cluster-yes"]  # fmt: skip
    try:
        subprocess.run(args, check=True, capture_output=True, timeout=60)
        _wait_cluster_ok(servers)
    except BaseException:
        for s in servers:
            s.stop()
        raise
    masters, replicas = [], []
    for s in servers:
        role = s.client().info("replication")["role"]
        (masters if role == "master" else replicas).append(s)
    return TlsCluster(masters, replicas, certs)  # type: ignore[arg-type]


def _wait_cluster_ok(servers: list[TlsRedisServer]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        states = [s.client().cluster("info").get("cluster_state") for s in servers]
        links = [s.client().info("replication").get("master_link_status", "up") for s in servers]
        if all(state == "ok" for state in states) and all(link == "up" for link in links):
            return
        time.sleep(0.1)
    raise RuntimeError("the TLS cluster did not reach state ok")
