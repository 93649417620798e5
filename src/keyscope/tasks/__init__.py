"""Analysis tasks: lifecycle, executors, the in-process runner and the auto-scan scheduler.

``lifecycle`` holds every state change (waiting → running → success | failed) and the
recovery of tasks a crash left running; ``executors`` is the registry of what runs for each
``TaskKind``; ``online`` registers the big-key, hot-key and expired-key executors; ``runner``
creates tasks (one waiting or running per instance and kind) and runs them on a thread pool;
``scheduler`` fires the configured auto scans.
"""
