"""Alerts out: notification targets per severity and rule (docs/outputs.md).

``config`` parses ``[[notify]]`` (pure, imported by calltrace.config), ``render`` builds
each kind's message (pure), ``targets`` sends one alert once (httpx, apprise),
``notifier`` queues, retries and counts. Nothing is imported here, so reading a
configuration never loads the HTTP and e-mail stacks.
"""
