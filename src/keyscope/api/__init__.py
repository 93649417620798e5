"""The HTTP API: a FastAPI app whose routers mirror the DCS cache-analysis paths.

``app`` builds the application and includes every router (one line per resource);
``deps`` holds the typed dependencies (session, authenticated credential, project check);
``errors`` turns every failure into the DCS error body; ``schemas`` and ``routes`` hold one
module per resource. Routers stay thin: the rules live in ``keyscope.tasks`` and below.
"""
