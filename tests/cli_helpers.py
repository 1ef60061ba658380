"""Run the installed console scripts the way a user does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent


def run(script: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / script), *args], input=stdin, capture_output=True, text=True, timeout=120
    )


def run_json(script: str, *args: str, stdin: str | None = None) -> tuple[int, Any]:
    proc = run(script, *args, stdin=stdin)
    out = json.loads(proc.stdout) if proc.stdout.strip() else None
    return proc.returncode, out
