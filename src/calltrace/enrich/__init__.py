"""Enrichment: number, IP and user-agent intelligence for calls, events and rules.

See docs/enrichment.md. Rules use ``Enricher`` (enricher.py) or the three sources alone:
``NumberIntel`` (numbers.py), ``IpIntel`` (geo.py), ``UserAgentParser`` (useragent.py).
"""
