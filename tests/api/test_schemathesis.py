"""schemathesis against the OpenAPI schema: no 5xx, no response that breaks the schema.

Driven through hypothesis directly (``operation.as_strategy()`` per operation) rather than
schemathesis' pytest plug-in, which does not load under this pytest.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from tests.api.conftest import start_api
from tests.api.test_v1_calls import fill

#: Cases per operation and generation mode; CALLTRACE_SCHEMATHESIS_EXAMPLES for a longer run.
EXAMPLES = int(os.environ.get("CALLTRACE_SCHEMATHESIS_EXAMPLES", "80"))


def _check(operation: Any, mode: GenerationMode, headers: dict[str, str],
           cases: Counter[str], examples: int) -> None:  # fmt: skip
    """Run ``examples`` cases of one operation in one generation mode."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        cases[case.operation.label] += 1
        case.call_and_validate(headers=headers)

    try:
        check()
    except Unsatisfiable:  # nothing to break (an operation without inputs)
        assert mode is GenerationMode.NEGATIVE


def run_schemathesis(db: str, examples: int) -> Counter[str]:
    """Run every operation with ``examples`` positive and ``examples`` negative cases."""
    cases: Counter[str] = Counter()
    for api in start_api(db, rate_limit=0.0):
        schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
        headers = api.headers("admin")
        for result in schema.get_all_operations():
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _check(result.ok(), mode, headers, cases, examples)
    return cases


def test_api_conforms_to_its_schema(tmp_path: Path) -> None:
    """Over 1,000 generated requests (valid and invalid), every answer is below 500 and
    matches the OpenAPI schema (status, content type, body), on a store holding the
    analysed sample (so /api/v1's call pages, filters and addresses find rows)."""
    db = str(tmp_path / "st.db")
    fill(db)
    cases = run_schemathesis(db, EXAMPLES)
    assert len(cases) >= 12
    assert sum(cases.values()) >= 1000, cases
