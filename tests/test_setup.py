"""run.py, the one set-up path (a learner's laptop, CI, the image): the Python it refuses, the .venv it
never trusts half-made, the messages instead of tracebacks, the lock it installs and the CI check
that the lock matches requirements*.txt. Each test runs a copy of run.py in a folder of its own."""
import ast
import base64
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_run(folder: Path):
    """run.py copied into `folder` (its ROOT), imported as a module of its own."""
    shutil.copy(ROOT / "run.py", folder / "run.py")
    spec = importlib.util.spec_from_file_location(f"run_{folder.name}", folder / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_wheel(folder: Path) -> tuple[Path, str]:
    """A one-module wheel made here (no index needed): its path and sha256."""
    wheel = folder / "tinypkg-1.0-py3-none-any.whl"
    files = {"tinypkg.py": "VALUE = 1\n",
             "tinypkg-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\n",
             "tinypkg-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                                            "Tag: py3-none-any\n"}
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    record.append("tinypkg-1.0.dist-info/RECORD,,")
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        archive.writestr("tinypkg-1.0.dist-info/RECORD", "\n".join(record) + "\n")
    return wheel, hashlib.sha256(wheel.read_bytes()).hexdigest()


def offline_pip_env() -> dict:
    """pip without this machine's config and indexes: only what a lock names by file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_RETRIES="0", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def write_project(folder: Path, lock_line: str) -> None:
    (folder / "requirements.txt").write_text("tinypkg\n")
    (folder / "requirements-dev.txt").write_text("-r requirements.txt\n")
    for lock in ("requirements.lock", "requirements-dev.lock"):
        (folder / lock).write_text(f"# test lock\n{lock_line}\n")


def run_copy(folder: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(folder / "run.py"), *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=300)


def test_an_older_python_is_refused_in_one_sentence_before_anything(tmp_path):
    shutil.copy(ROOT / "run.py", tmp_path / "run.py")
    code = ("import sys; sys.version_info = (3, 10, 12, 'final', 0); sys.argv = ['run.py', 'app']; "
            f"exec(compile(open({str(tmp_path / 'run.py')!r}).read(), 'run.py', 'exec'), {{'__name__': '__main__'}})")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == ("The playground needs Python 3.11 or newer (this is Python 3.10): "
                                     "install python3.11 or later and run run.py with it.")
    assert not (tmp_path / ".venv").exists()
    # Plain syntax up to the check, so Python 3.6+ reads that far (the rest never runs there).
    ast.parse((ROOT / "run.py").read_text(), feature_version=(3, 6))


def test_a_fresh_setup_installs_the_hashed_lock_once_and_replaces_a_half_made_venv(tmp_path):
    wheel, digest = tiny_wheel(tmp_path)
    write_project(tmp_path, f"tinypkg @ {wheel.as_uri()} --hash=sha256:{digest}")
    shutil.copy(ROOT / "run.py", tmp_path / "run.py")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)  # what a failed `python3 -m venv` leaves: no pip
    result = run_copy(tmp_path, "setup", env=offline_pip_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Removing the half-made .venv" in result.stdout
    python = tmp_path / ".venv" / "bin" / "python"
    assert subprocess.run([str(python), "-c", "import tinypkg"]).returncode == 0
    assert (tmp_path / ".venv" / ".playground-venv").exists()
    assert (tmp_path / ".venv" / ".installed-requirements.lock").exists()
    again = run_copy(tmp_path, "setup", env=offline_pip_env())  # the same lock: nothing to do
    assert again.returncode == 0 and "Installing" not in again.stdout


def test_a_failed_install_says_what_to_check_without_a_traceback_and_is_tried_again(tmp_path):
    wheel, _ = tiny_wheel(tmp_path)
    write_project(tmp_path, f"tinypkg @ {wheel.as_uri()} --hash=sha256:{'0' * 64}")  # a hash that fails
    shutil.copy(ROOT / "run.py", tmp_path / "run.py")
    result = run_copy(tmp_path, "setup", env=offline_pip_env())
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "pip could not install requirements.lock" in result.stderr
    assert "network connection to PyPI" in result.stderr and "next run tries again" in result.stderr
    assert not (tmp_path / ".venv" / ".installed-requirements.lock").exists()  # not trusted next time
    # No network: an index that does not answer ends the same way.
    write_project(tmp_path, f"tinypkg==1.0 --hash=sha256:{'0' * 64}")
    env = {k: v for k, v in offline_pip_env().items() if k != "PIP_NO_INDEX"}
    env["PIP_INDEX_URL"] = "http://127.0.0.1:9/simple"  # nothing listens there
    offline = run_copy(tmp_path, "setup", env=env)
    assert offline.returncode == 1 and "Traceback" not in offline.stderr
    assert "network connection to PyPI" in offline.stderr


def test_without_ensurepip_it_says_to_install_python3_venv_and_leaves_no_venv(tmp_path, monkeypatch, capsys):
    run = load_run(tmp_path)
    (tmp_path / "requirements.lock").write_text("# empty\n")
    (tmp_path / "requirements.txt").write_text("")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(run.importlib.util, "find_spec",
                        lambda name, *a: None if name == "ensurepip" else real_find_spec(name, *a))
    assert run.main(["app"]) == 1
    err = capsys.readouterr().err
    assert "sudo apt install python3-venv" in err and "Traceback" not in err
    assert not (tmp_path / ".venv").exists()


def test_a_venv_that_fails_midway_is_removed(tmp_path, monkeypatch, capsys):
    run = load_run(tmp_path)
    (tmp_path / "requirements.lock").write_text("# empty\n")
    (tmp_path / "requirements.txt").write_text("")

    def half_made(self, env_dir):
        (Path(env_dir) / "bin").mkdir(parents=True)
        raise subprocess.CalledProcessError(1, ["ensurepip"])

    monkeypatch.setattr(run.venv.EnvBuilder, "create", half_made)
    assert run.main(["app"]) == 1
    assert "python3-venv" in capsys.readouterr().err
    assert not (tmp_path / ".venv").exists()


def test_classroom_checks_for_haproxy_before_installing(tmp_path, monkeypatch, capsys):
    run = load_run(tmp_path)
    monkeypatch.setattr(run.shutil, "which", lambda name: None)
    monkeypatch.setattr(run, "ensure_env", lambda **kw: pytest.fail("installed before checking HAProxy"))
    assert run.main(["classroom", "--replicas", "2"]) == 2
    assert "sudo apt-get install -y haproxy" in capsys.readouterr().err


def test_classroom_passes_its_arguments_and_the_database_through(tmp_path, monkeypatch):
    run = load_run(tmp_path)
    calls = []
    monkeypatch.setattr(run.shutil, "which", lambda name: "/usr/sbin/haproxy")
    monkeypatch.setattr(run, "ensure_env", lambda **kw: calls.append(("setup", kw)))
    monkeypatch.setattr(run, "run_in_venv", lambda *args: calls.append(list(args)) or 0)
    monkeypatch.delenv("PLAYGROUND_CPU_ONLY", raising=False)
    assert run.main(["classroom", "--replicas", "3", "--port", "8600", "--database", "sqlite:///x.db"]) == 0
    assert calls == [("setup", {"cpu_only": False}),
                     ["-m", "deploy.classroom", "--replicas", "3", "--port", "8600", "--database", "sqlite:///x.db"]]


def test_cpu_only_takes_the_locked_torch_from_pytorchs_cpu_index_and_the_rest_hash_checked(tmp_path, monkeypatch):
    run = load_run(tmp_path)
    for name in ("requirements.lock", "requirements.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.setattr(run, "_make_venv", lambda: run.VENV.mkdir(exist_ok=True))
    installs = []

    def pip(*args, what):
        lock = next((Path(a) for a in args if a.endswith(".lock")), None)
        installs.append((args, lock.read_text() if lock else None))

    monkeypatch.setattr(run, "_pip", pip)
    assert run.main(["setup", "--cpu-only"]) == 0
    (first, rest), (second, _) = installs
    lock = (ROOT / "requirements.lock").read_text()
    torch = run.locked_version("requirements.lock", "torch")
    assert first[0] == "--require-hashes"  # everything else, torch's dependencies too, hash-checked first
    assert second == ("--no-deps", "--index-url", "https://download.pytorch.org/whl/cpu", f"torch=={torch}",
                      f"torchvision=={run.locked_version('requirements.lock', 'torchvision')}")
    assert "\ntorch==" in lock and "\ntorch==" not in rest and "\nnvidia-" not in rest and "\ntriton==" not in rest
    assert "\nstreamlit==" in rest and "--hash=sha256:" in rest
    assert (tmp_path / ".venv" / ".playground-cpu-only").exists()  # remembered for the next runs


def test_the_locks_match_requirements_txt():
    """The CI check: requirements*.txt edited without `python3 run.py lock` fails here (and in .ci/run)."""
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "lock", "--check"], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr


def test_the_check_notices_an_edited_requirements_file(tmp_path):
    run = load_run(tmp_path)
    for name in ("requirements.txt", "requirements-dev.txt", "requirements.lock", "requirements-dev.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    assert run.stale_locks() == []
    with open(tmp_path / "requirements.txt", "a") as requirements:
        requirements.write("rich>=13\n")
    assert run.stale_locks() == ["requirements-dev.lock", "requirements.lock"]  # dev includes it


def test_the_lock_pins_exact_versions_with_hashes_for_linux_and_python_311():
    for name in ("requirements.lock", "requirements-dev.lock"):
        text = (ROOT / name).read_text()
        requirements = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
        assert requirements and all("==" in line for line in requirements), name
        assert text.count("--hash=sha256:") >= len(requirements)
        assert "torch==2.14.1" in text and "torchvision==0.29.1" in text
    dev = (ROOT / "requirements-dev.lock").read_text()
    assert "nvidia-cublas" in dev and "sys_platform == 'linux'" in dev  # PyPI's CUDA torch, Linux
    for package in ("sqlalchemy==", "alembic==", "psycopg==", "psycopg-binary==", "argon2-cffi==",
                    "markdown-it-py==", "torchinfo==", "kubernetes-validate==", "yamllint=="):
        assert f"\n{package}" in dev, package
    app = (ROOT / "requirements.lock").read_text()
    assert "\ntorchinfo==" not in app and "\ngraphviz==" not in app and "\npytest==" not in app


def test_requirements_hold_what_the_code_imports_and_nothing_it_does_not():
    app = (ROOT / "requirements.txt").read_text()
    assert "graphviz" not in app and "torchinfo" not in app
    assert "torch==2.14.1" in app and "torchvision==0.29.1" in app
    code = "".join(p.read_text(errors="replace") for folder in ("core", "ui", "views", "pages", "deploy", "db")
                   for p in (ROOT / folder).rglob("*.py") if (ROOT / folder).exists())
    code += (ROOT / "app.py").read_text()
    assert "import graphviz" not in code and "torchinfo" not in code
