"""Set up the virtual environment and run the app, the tests, or a classroom server.

    python3 run.py app     # create .venv, install requirements.txt, start the app
    python3 run.py test    # create .venv, install requirements-dev.txt, run the whole test suite
    python3 run.py classroom --replicas N [--port 8500]
                           # N app processes behind HAProxy (sticky sessions): one URL for a class

Extra arguments go to `streamlit run` or `pytest`. Needs only Python 3.10+.
"""
import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _ensure_env(requirements: str) -> None:
    """Create .venv and pip-install `requirements` unless the same file was installed before."""
    if not PYTHON.exists():
        print(f"Creating the virtual environment in {VENV} …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    req_files = [ROOT / requirements] + ([ROOT / "requirements.txt"] if requirements != "requirements.txt" else [])
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in req_files)).hexdigest()
    stamp = VENV / f".installed-{requirements}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"Installing {requirements} (torch is large: the first time takes a few minutes) …", flush=True)
    subprocess.check_call([str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check",
                           "-q", "-r", str(ROOT / requirements)], cwd=ROOT)
    stamp.write_text(digest)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("app", "test", "classroom"):
        print(__doc__)
        return 2
    command, extra = argv[0], argv[1:]
    if command == "classroom":
        _ensure_env("requirements.txt")
        return subprocess.call([str(PYTHON), "-m", "deploy.classroom", *extra], cwd=ROOT)
    if command == "app":
        _ensure_env("requirements.txt")
        return subprocess.call([str(PYTHON), "-m", "streamlit", "run", "app.py", *extra], cwd=ROOT)
    _ensure_env("requirements-dev.txt")
    return subprocess.call([str(PYTHON), "-m", "pytest", *extra], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
