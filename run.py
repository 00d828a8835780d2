"""Set up the virtual environment and run the app, the tests, or a classroom server.

    python3 run.py app        # create .venv, install requirements.lock, start the app
    python3 run.py test       # the same with requirements-dev.lock, then the whole test suite
    python3 run.py classroom --replicas N [--port 8500] [--host 0.0.0.0] [--database URL] [--closed]
                              # N app processes behind HAProxy (sticky sessions): one URL for a class
    python3 run.py teacher --set-password   # the teacher's password (only its Argon2 hash is kept)
    python3 run.py setup [--dev]   # only create or update .venv (CI and the container image use it)
    python3 run.py lock [--upgrade | --check]
                              # after editing requirements*.txt: write the locks again (needs PyPI)

Extra arguments go to `streamlit run` or `pytest`. Needs Python 3.11+. What is installed is the
lock (requirements.lock, requirements-dev.lock: exact versions with hashes, pip --require-hashes),
written by `run.py lock` from requirements.txt and requirements-dev.txt, which people edit.

--cpu-only (with app, test, classroom or setup; or PLAYGROUND_CPU_ONLY=1): install PyTorch's CPU
wheels from PyTorch's own index (https://download.pytorch.org/whl/cpu) instead of PyPI's build,
which on Linux brings several GB of CUDA libraries even to a machine without an NVIDIA GPU. The
same torch and torchvision versions as the lock; those two are then checked by version only
(the lock holds PyPI's hashes). .venv remembers the choice; delete .venv to change it back.
"""
import sys

if sys.version_info < (3, 11):  # noqa: UP036  (plain syntax below: an old Python must read this far)
    sys.exit("The playground needs Python 3.11 or newer (this is Python %d.%d): "  # noqa: UP031
             "install python3.11 or later and run run.py with it." % sys.version_info[:2])

import contextlib  # noqa: E402  (after the version check: nothing runs on an older Python)
import hashlib  # noqa: E402
import importlib.util  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import venv  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
MADE = VENV / ".playground-venv"       # written once .venv has a working pip: a venv without it is half-made
CPU_ONLY = VENV / ".playground-cpu-only"  # .venv was set up with --cpu-only
LOCKS = {  # lock -> the file it is compiled from (and what that file includes with -r)
    "requirements-dev.lock": "requirements-dev.txt",  # first: the app's lock follows its versions
    "requirements.lock": "requirements.txt",
}
UV = "uv==0.13.10"  # the resolver `run.py lock` uses, in a throwaway environment
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
CUDA_ONLY = re.compile(r"^(nvidia-[a-z0-9-]+|cuda-[a-z0-9-]+|triton)==")  # what PyPI's Linux torch brings
DIGEST_LINE = "# inputs-sha256: "
NOISE = re.compile(r"WARNING: Location '.*' is ignored: it is neither a file nor a directory")  # file:// indexes


class SetupError(Exception):
    """Set-up could not finish; the message says what to install or check."""


def input_files(requirements: str) -> list[Path]:
    """`requirements` and every file it includes with -r, in order."""
    files, queue = [], [ROOT / requirements]
    while queue:
        path = queue.pop(0)
        files.append(path)
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.match(r"^\s*(?:-r|--requirement)[\s=]+(\S+)", line)
            if match:
                queue.append(path.parent / match.group(1))
    return files


def inputs_digest(requirements: str) -> str:
    """sha256 of a lock's input files (names and bytes): what the lock records it was made from."""
    digest = hashlib.sha256()
    for path in input_files(requirements):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def stale_locks(locks=tuple(LOCKS)) -> list[str]:
    """Those of `locks` whose inputs changed since `run.py lock` wrote them (or that are missing)."""
    stale = []
    for lock in locks:
        requirements, path = LOCKS[lock], ROOT / lock
        recorded = ""
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines()[:5]:
                if line.startswith(DIGEST_LINE):
                    recorded = line[len(DIGEST_LINE):].split()[0]
        if recorded != inputs_digest(requirements):
            stale.append(lock)
    return stale


def locked_version(lock: str, name: str) -> str:
    """The version `lock` pins for package `name`."""
    match = re.search(rf"^{re.escape(name)}==([^\s;\\]+)", (ROOT / lock).read_text(encoding="utf-8"), re.MULTILINE)
    if not match:
        raise SetupError(f"{lock} pins no {name}: run python3 run.py lock")
    return match.group(1)


def without_cuda(lock_text: str) -> str:
    """The lock less torch, torchvision and the CUDA packages PyPI's Linux torch depends on."""
    kept, skipping = [], False
    for line in lock_text.splitlines():
        if not line.startswith((" ", "\t", "#")) and line.strip():  # a requirement starts here
            skipping = bool(CUDA_ONLY.match(line)) or line.startswith(("torch==", "torchvision=="))
        if not skipping:
            kept.append(line)
    return "\n".join(kept) + "\n"


@contextlib.contextmanager
def _one_setup_at_a_time():
    """Hold an exclusive lock on the project folder while setting up (two runs at once wait)."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; one run at a time is up to the user
        yield
        return
    fd = os.open(ROOT, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _pip(*args: str, what: str) -> None:
    """python -m pip ARGS in .venv; SetupError naming what to check if it fails."""
    command = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q", *args]
    with subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True, errors="replace") as pip:
        for line in pip.stderr:  # pip's messages, less one line per package for a missing local index
            if not NOISE.match(line):
                sys.stderr.write(line)
    if pip.returncode:
        raise SetupError(
            f"pip could not install {what} (exit status {pip.returncode}; its message is above). Check the "
            "network connection to PyPI (or to the index in your pip settings: `pip config list`; a proxy "
            "needs HTTPS_PROXY), and the free disk space (torch needs several GB). Nothing was marked "
            "installed: the next run tries again.") from None


def _pip_works() -> bool:
    try:
        return subprocess.run([str(PYTHON), "-m", "pip", "--version"], capture_output=True).returncode == 0
    except OSError:
        return False


def _make_venv() -> None:
    """Create .venv with pip, or remove what was made and say what is missing."""
    if MADE.exists():
        return
    if VENV.exists():
        if PYTHON.exists() and _pip_works():  # made by an earlier run.py, which wrote no mark
            MADE.write_text("ok\n")
            return
        print(f"Removing the half-made {VENV.name} an earlier run left behind …", flush=True)
        shutil.rmtree(VENV)
    debian_hint = (f"On Debian or Ubuntu: sudo apt install python3-venv (or python{sys.version_info[0]}."
                   f"{sys.version_info[1]}-venv for this Python), then run this again.")
    if importlib.util.find_spec("ensurepip") is None:
        raise SetupError(f"This Python cannot create a virtual environment with pip (no ensurepip). {debian_hint}")
    print(f"Creating the virtual environment in {VENV} …", flush=True)
    try:
        venv.EnvBuilder(with_pip=True).create(VENV)
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(VENV, ignore_errors=True)
        raise SetupError(f"Creating {VENV.name} failed ({exc}). {debian_hint}") from None
    if not _pip_works():
        shutil.rmtree(VENV, ignore_errors=True)
        raise SetupError(f"The new {VENV.name} has no working pip. {debian_hint}")
    MADE.write_text("ok\n")


def ensure_env(dev: bool = False, cpu_only: bool = False) -> None:
    """Make .venv and install the lock into it, unless the same lock was installed before."""
    lock = "requirements-dev.lock" if dev else "requirements.lock"
    if not (ROOT / lock).exists():
        raise SetupError(f"{lock} is missing: run python3 run.py lock (needs PyPI)")
    if stale_locks([lock]):
        print(f"Note: requirements*.txt changed since {lock} was written; installing the lock "
              "as it is. Run python3 run.py lock to bring it up to date.", file=sys.stderr, flush=True)
    with _one_setup_at_a_time():
        _make_venv()
        cpu_only = cpu_only or CPU_ONLY.exists()
        lock_text = (ROOT / lock).read_text(encoding="utf-8")
        digest = hashlib.sha256(lock_text.encode() + (b"cpu-only" if cpu_only else b"")).hexdigest()
        stamp = VENV / f".installed-{lock}"
        if stamp.exists() and stamp.read_text() == digest:
            return
        stamp.unlink(missing_ok=True)
        print(f"Installing {lock} (torch is large: the first time takes a few minutes) …", flush=True)
        if cpu_only:  # the lock less torch, hash-checked (torch's own dependencies included), then torch
            CPU_ONLY.write_text("ok\n")
            torch, vision = locked_version(lock, "torch"), locked_version(lock, "torchvision")
            with tempfile.NamedTemporaryFile("w", suffix=".lock", delete=False, encoding="utf-8") as rest:
                rest.write(without_cuda(lock_text))
            try:
                _pip("--require-hashes", "-r", rest.name, what=f"{lock} (all but torch)")
            finally:
                os.unlink(rest.name)
            _pip("--no-deps", "--index-url", CPU_INDEX, f"torch=={torch}", f"torchvision=={vision}",
                 what=f"torch {torch} and torchvision {vision} from PyTorch's CPU index ({CPU_INDEX})")
        else:
            _pip("--require-hashes", "-r", str(ROOT / lock), what=lock)
        stamp.write_text(digest)


def write_locks(upgrade: bool = False) -> None:
    """Compile each lock from its input with uv (universal: every platform, Python 3.11+)."""
    with tempfile.TemporaryDirectory(prefix="playground-lock-") as tools:
        print(f"Installing {UV} into a throwaway environment …", flush=True)
        venv.EnvBuilder(with_pip=True).create(tools)
        tool_python = Path(tools) / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        try:
            subprocess.run([str(tool_python), "-m", "pip", "install", "--disable-pip-version-check", "-q", UV],
                           check=True)
        except subprocess.CalledProcessError:
            raise SetupError(f"pip could not install {UV}: check the network connection to PyPI.") from None
        for lock, requirements in LOCKS.items():
            command = [str(tool_python), "-m", "uv", "pip", "compile", "--no-config", "--quiet", requirements,
                       "--output-file", lock, "--universal", "--python-version", "3.11", "--generate-hashes",
                       "--custom-compile-command", "python3 run.py lock"]
            if lock != "requirements-dev.lock":  # the same versions as the dev lock
                command += ["--constraint", "requirements-dev.lock"]
            if upgrade:
                command.append("--upgrade")
            try:
                subprocess.run(command, cwd=ROOT, check=True)
            except subprocess.CalledProcessError:
                raise SetupError(f"uv could not resolve {requirements} (its message is above).") from None
            path = ROOT / lock
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
            lines.insert(2, f"{DIGEST_LINE}{inputs_digest(requirements)} ({requirements})\n")
            path.write_text("".join(lines), encoding="utf-8")
            print(f"Wrote {lock}", flush=True)


def _lock(extra: list[str]) -> int:
    if "--check" in extra:
        stale = stale_locks()
        if stale:
            print(f"{', '.join(stale)} is out of date with requirements*.txt: run python3 run.py lock "
                  "and commit the result.", file=sys.stderr)
            return 1
        print("The locks match requirements*.txt.")
        return 0
    write_locks(upgrade="--upgrade" in extra)
    return 0


def run_in_venv(*args: str) -> int:
    """`.venv/bin/python ARGS` in the project folder. On POSIX this process becomes it (exec), so a
    signal (Ctrl+C, a service manager's SIGTERM) reaches the app, the tests or the classroom itself."""
    command = [str(PYTHON), *args]
    if os.name == "posix":
        sys.stdout.flush()
        sys.stderr.flush()
        os.chdir(ROOT)
        os.execv(command[0], command)
    return subprocess.call(command, cwd=ROOT)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("app", "test", "classroom", "setup", "lock", "teacher"):
        print(__doc__)
        return 2
    command, extra = argv[0], [a for a in argv[1:] if a != "--cpu-only"]
    cpu_only = "--cpu-only" in argv[1:] or os.environ.get("PLAYGROUND_CPU_ONLY") == "1"
    try:
        if command == "lock":
            return _lock(extra)
        if command == "setup":
            ensure_env(dev="--dev" in extra, cpu_only=cpu_only)
            return 0
        if command == "classroom":
            if shutil.which("haproxy") is None:  # before installing anything
                from deploy.classroom import HAPROXY_MISSING

                print(HAPROXY_MISSING, file=sys.stderr)
                return 2
            ensure_env(cpu_only=cpu_only)
            return run_in_venv("-m", "deploy.classroom", *extra)
        if command == "teacher":  # --set-password / --hash: the teacher's password, as an Argon2 hash only
            ensure_env(cpu_only=cpu_only)
            return run_in_venv("-m", "core.teacher", *extra)
        if command == "app":
            ensure_env(cpu_only=cpu_only)
            return run_in_venv("-m", "streamlit", "run", "deploy/serve.py", *extra)
        ensure_env(dev=True, cpu_only=cpu_only)
        return run_in_venv("-m", "pytest", *extra)
    except SetupError as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopped.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
