"""DCS error codes and messages that the DCS pages name, plus keyscope's own."""

from __future__ import annotations

BIGKEY_UNSUPPORTED = ("DCS.4919", "Does not support bigkey analyze.")
HOTKEY_UNSUPPORTED = ("DCS.4922", "Does not support hotkey analyze.")
EXPIRE_SCAN_UNSUPPORTED = ("DCS.4818", "Do not support auto expire scan.")
OFFLINE_UNSUPPORTED = ("DCS.4230", "Does not support offline key analysis.")

INVALID_REQUEST = "DCS.4000"
INVALID_JSON = "DCS.4001"
INVALID_FIELD = "DCS.4002"
ADDRESS_NOT_ALLOWED = "DCS.4003"
INSTANCE_NOT_FOUND = "DCS.4041"
TASK_NOT_FOUND = "DCS.4042"
BACKUP_NOT_FOUND = "DCS.4043"
NODE_NOT_FOUND = "DCS.4044"
ROUTE_NOT_FOUND = "DCS.4040"
ANALYSIS_ALREADY_RUNNING = "DCS.4960"
BACKUP_IN_PROGRESS = "DCS.4961"
"""A backup of that node is being taken, or the backup asked for is still being taken."""
BACKUP_LIMIT_REACHED = "DCS.4962"
"""The instance holds as many stored backups as it may (``KEYSCOPE_MAX_BACKUPS_PER_INSTANCE``)."""
BACKUP_NODE_NOT_HELD = "DCS.4963"
"""An offline analysis named a node whose file the backup does not hold."""
INTERNAL_ERROR = "DCS.5000"
NO_SPACE_LEFT = "DCS.5001"
"""keyscope: the disk of the data folder (database, backups) is full."""
DATABASE_FAILING = "DCS.5002"
"""keyscope: the database does not answer, or refuses to read or write."""
NOT_WRITABLE = "DCS.5003"
"""keyscope: the data folder (or the database in it) cannot be written."""
