"""The Makefile's interpreter (README, "Two commands"): Debian's `/usr/bin/python3.11` when it can
make a virtualenv, else the first `python3.11` on the PATH, and `make PYTHON=...` above both. Read
from make itself, as `make run` and `make test` would see it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEBIAN = Path("/usr/bin/python3.11")


def _python(*args: str) -> str:
    shown = subprocess.run(
        ["make", "--no-print-directory", *args, "--eval", "show-python: ; @echo $(PYTHON)", "show-python"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return shown.stdout.strip()


def _makes_venvs(python: Path) -> bool:
    return python.exists() and subprocess.run([python, "-c", "import ensurepip"], capture_output=True).returncode == 0


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_the_makefile_takes_debians_python_when_it_can_make_a_venv_and_python_overrides_it():
    expected = str(DEBIAN) if _makes_venvs(DEBIAN) else "python3.11"
    assert _python() == expected
    assert _python("PYTHON=/opt/other/python3.11") == "/opt/other/python3.11"
