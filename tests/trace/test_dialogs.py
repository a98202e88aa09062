"""The call state table (calltrace.trace.dialogs) and its documentation."""

from __future__ import annotations

from pathlib import Path

from calltrace.trace.dialogs import (
    PUBLIC_STATE,
    TRANSITIONS,
    DialogState,
    Stimulus,
    next_state,
    response_stimulus,
    table_markdown,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "call-states.md"
PUBLIC = {"completed", "answered", "cancelled", "rejected", "failed", "in_progress"}


def test_every_state_maps_to_a_documented_call_state() -> None:
    """Each internal state maps to one of the Call docstring's six states."""
    assert set(PUBLIC_STATE) == set(DialogState)
    assert set(PUBLIC_STATE.values()) == PUBLIC


def test_missing_pair_leaves_state_unchanged() -> None:
    """A stimulus with no table entry (a 180 after the answer) keeps the state."""
    assert (DialogState.ANSWERED, Stimulus.PROVISIONAL) not in TRANSITIONS
    assert next_state(DialogState.ANSWERED, Stimulus.PROVISIONAL) is DialogState.ANSWERED
    assert next_state(DialogState.COMPLETED, Stimulus.BYE) is DialogState.COMPLETED


def test_completed_is_terminal() -> None:
    """Nothing leaves `completed`: a BYE ends the dialog for good (RFC 3261 §15)."""
    assert not [key for key in TRANSITIONS if key[0] is DialogState.COMPLETED]


def test_eviction_never_leaves_a_call_in_progress() -> None:
    """Evicting a call in any setup state gives a final Call.state, not `in_progress`."""
    for state in DialogState:
        if PUBLIC_STATE[state] == "in_progress":
            assert PUBLIC_STATE[next_state(state, Stimulus.EVICT)] != "in_progress", state


def test_response_classification() -> None:
    """Statuses map to stimuli as RFC 3261 §21 classes them (100 and 199 do nothing)."""
    cases = {100: None, 180: Stimulus.PROVISIONAL, 183: Stimulus.PROVISIONAL, 199: None,
             200: Stimulus.SUCCESS, 202: Stimulus.SUCCESS, 302: Stimulus.REJECT,
             401: Stimulus.CHALLENGE, 407: Stimulus.CHALLENGE, 408: Stimulus.TIMEOUT,
             486: Stimulus.REJECT, 487: Stimulus.TERMINATED, 603: Stimulus.REJECT}  # fmt: skip
    assert {status: response_stimulus(status) for status in cases} == cases


def test_docs_carry_the_whole_table() -> None:
    """docs/call-states.md contains every row of the generated transition table."""
    text = DOC.read_text(encoding="utf-8")
    for row in table_markdown().splitlines():
        assert row in text, row
