"""The one Settings class; only api, cli and tasks read it, the engine takes parameters."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from keyscope import defaults
from keyscope.domain.scan import ScanOptions
from keyscope.redis.allowlist import parse_networks
from keyscope.store.db import is_postgres


class Settings(BaseSettings):
    """Service settings, from arguments or ``KEYSCOPE_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="KEYSCOPE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    data_dir: Path = Path("keyscope-data")
    credentials: Path | None = None
    database_url: SecretStr | None = None
    secret_key: SecretStr | None = None
    """Key for secrets at rest (KEYSCOPE_SECRET_KEY); default: DATA_DIR/secret.key."""
    backup_dir: Path | None = None
    max_ops_per_sec: int = Field(default=defaults.MAX_OPS_PER_SEC, ge=1)
    workers: int = Field(default=2, ge=1, le=64)
    log_level: str = "info"
    max_concurrent_requests: int = Field(default=100, ge=1, le=10_000)
    """Requests (and connections) served at once before new ones get 503
    (KEYSCOPE_MAX_CONCURRENT_REQUESTS); the worker-thread pool is sized above it."""
    db_connect_attempts: int = Field(default=30, ge=1)
    """Scale-out: tries (1 s apart) to reach PostgreSQL at start (KEYSCOPE_DB_CONNECT_ATTEMPTS)."""
    stall_after_s: float = Field(default=30.0, gt=0)
    """Scale-out: a running task whose worker sent no heartbeat for this long is failed
    (KEYSCOPE_STALL_AFTER_S)."""
    hotkey_min_accesses: int = Field(default=defaults.HOTKEY_MIN_ACCESSES, ge=1)
    """Hot-key floor in accesses (KEYSCOPE_HOTKEY_MIN_ACCESSES): a key is hot from the LFU
    counter this many accesses reach on average under the node's lfu-log-factor."""
    hotkeys_window_s: int = Field(
        default=defaults.HOTKEYS_WINDOW_S, ge=1, le=defaults.HOTKEYS_WINDOW_MAX_S
    )
    """Seconds of the server's own HOTKEYS tracking where it has the command
    (KEYSCOPE_HOTKEYS_WINDOW_S, at most 60)."""
    hotkey_min_share: float = Field(default=defaults.HOTKEY_MIN_SHARE, gt=0, le=1)
    """With HOTKEYS: the least share of the window's network bytes that makes a key hot
    (KEYSCOPE_HOTKEY_MIN_SHARE)."""
    analysis_deadline_s: float = Field(default=defaults.ANALYSIS_DEADLINE_S, gt=0)
    """Longest an analysis may run before it is failed (KEYSCOPE_ANALYSIS_DEADLINE_S)."""
    backup_deadline_s: float = Field(default=defaults.BACKUP_DEADLINE_S, gt=0)
    """Longest a backup may take before it is failed as timed out
    (KEYSCOPE_BACKUP_DEADLINE_S)."""
    max_backups_per_instance: int = Field(default=defaults.MAX_BACKUPS_PER_INSTANCE, ge=1)
    """Backups one instance may hold (KEYSCOPE_MAX_BACKUPS_PER_INSTANCE); past it new ones
    are refused with DCS.4962 until some are deleted."""
    allowed_networks: str | None = None
    """CIDRs Redis addresses may resolve to (KEYSCOPE_ALLOWED_NETWORKS, comma-separated);
    unset: every address is allowed."""

    @field_validator("allowed_networks")
    @classmethod
    def _networks(cls, value: str | None) -> str | None:
        if value is not None:
            parse_networks(value)  # a malformed CIDR stops the start-up, naming itself
        return value

    def scan_options(self) -> ScanOptions:
        """How the online analyses of this process walk and judge a deployment."""
        return ScanOptions(
            max_ops_per_sec=self.max_ops_per_sec,
            hotkey_min_accesses=self.hotkey_min_accesses,
            hotkeys_window_s=self.hotkeys_window_s,
            hotkey_min_share=self.hotkey_min_share,
        )

    @property
    def credentials_path(self) -> Path:
        return self.credentials or self.data_dir / "credentials.json"

    @property
    def backups_path(self) -> Path:
        return self.backup_dir or self.data_dir / "backups"

    @property
    def scale_out(self) -> bool:
        """PostgreSQL configured: workers run the analyses, API processes only enqueue them."""
        return self.database_url is not None and is_postgres(self.database_url.get_secret_value())

    def database_url_value(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'keyscope.db').resolve()}"
