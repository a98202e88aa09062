"""Detection: pure detectors over call events and SIP messages (docs/rules.md)."""
