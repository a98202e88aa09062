"""See docs/architecture.md for what this layer may and may not do."""
