"""Thin routers, one per resource, mirroring the DCS paths; included in ``keyscope.api.app``."""
