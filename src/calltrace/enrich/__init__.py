"""Enrichment: number, IP and user-agent intelligence for calls, events and rules (docs/enrichment.md)."""
