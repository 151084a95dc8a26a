"""The production image holds only what the Dockerfile copies, and no Docker engine runs here to
build it. These files alone, laid out as the image lays them out, must import the API and the
worker and hold the mail templates and migrations they read at run time: a module left out of a
``COPY`` (it happened to ``money.py`` and ``templates/``) is a container that dies on start."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.processes import ROOT

CHECK = """
from activities.notify import MAIL_TEMPLATES
import api.main, cli, worker
assert any(MAIL_TEMPLATES.glob("*.txt")), MAIL_TEMPLATES
from pathlib import Path
assert any(Path("db/migrations/versions").glob("*.py"))
"""


def copied_sources(dockerfile: Path) -> list[str]:
    """The sources of every ``COPY`` into the image (its working directory is the root)."""
    sources: list[str] = []
    for line in dockerfile.read_text().splitlines():
        if line.upper().startswith("COPY "):
            words = shlex.split(line)
            sources += [word for word in words[1:-1] if not word.startswith("--")]
    return sources


def test_the_files_the_dockerfile_copies_run_the_api_and_the_worker(tmp_path: Path) -> None:
    for source in copied_sources(ROOT / "Dockerfile"):
        origin = ROOT / source
        if origin.is_dir():
            shutil.copytree(origin, tmp_path / source, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, tmp_path / source)
    done = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "DURAPAY_ENVIRONMENT": "dev"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
