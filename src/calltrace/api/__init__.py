"""``calltrace serve``: the HTTP service (FastAPI). docs/api.md explains how to add a router."""
