"""The suite's own guard: a test that hangs fails on its own instead of holding CI past its
20-minute budget (pytest-timeout, configured in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_suite_sets_a_per_test_timeout(request: pytest.FixtureRequest) -> None:
    seconds = float(request.config.getini("timeout"))
    assert 60 <= seconds <= 600, seconds


def test_a_hanging_test_fails_with_its_stack(tmp_path: Path) -> None:
    hanging = tmp_path / "test_hangs.py"
    hanging.write_text(
        "import threading\n\n"
        "def test_waits_for_ever():\n"
        "    threading.Event().wait()\n"
    )
    started = time.monotonic()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(ROOT / "pyproject.toml"),
            "--rootdir",
            str(tmp_path),
            "-n",
            "0",
            "-p",
            "no:cacheprovider",
            "-o",
            "timeout=2",
            str(hanging),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout[-2000:]
    assert "Timeout" in run.stdout
    assert "test_waits_for_ever" in run.stdout
    assert time.monotonic() - started < 60
