"""Shared fixtures: where the corpus is, and whether tshark is here."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("CALLTRACE_CORPUS", REPO.parent / "shared" / "corpus")).resolve()


def corpus_dir() -> Path:
    """The shared corpus, or a skip with the reason when it is not on this machine."""
    if not (CORPUS / "MANIFEST.txt").exists():
        pytest.skip(f"corpus not found at {CORPUS} (set CALLTRACE_CORPUS)")
    return CORPUS


@pytest.fixture
def corpus() -> Path:
    return corpus_dir()


@pytest.fixture
def tshark() -> str:
    path = shutil.which("tshark")
    if path is None:
        pytest.skip("tshark is not installed (Debian package tshark)")
    return path
