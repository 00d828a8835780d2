"""The teacher's password and the class server's settings: plain Python, no Streamlit.

The password is never stored: only its Argon2 hash (argon2-cffi), from the environment variable
PLAYGROUND_TEACHER_PASSWORD_HASH (a Kubernetes Secret, a service's environment) or the file
.streamlit/teacher.toml (gitignored), which `python3 run.py teacher --set-password` writes:

    python3 -m core.teacher --set-password        # asks twice, writes .streamlit/teacher.toml
    python3 -m core.teacher --hash                # prints a hash for the environment variable
"""
import argparse
import getpass
import os
import sys
import tomllib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from core.slots import SETTINGS_FILE, _setting

TEACHER_FILE = SETTINGS_FILE.with_name("teacher.toml")  # gitignored: written by run.py teacher --set-password
HASH_ENV = "PLAYGROUND_TEACHER_PASSWORD_HASH"
CLOSED_ENV = "PLAYGROUND_CLOSED"
MIN_LENGTH = 8         # a class password: long enough not to be guessed in five tries a minute
LOCK_FAILURES = 5      # wrong passwords in a row that lock the sign-in …
LOCK_SECONDS = 60      # … for this long (counted across all replicas, in the database)
_HASHER = PasswordHasher()


def password_hash() -> str:
    """The configured hash: PLAYGROUND_TEACHER_PASSWORD_HASH, else .streamlit/teacher.toml, else the
    settings file's `[teacher] password_hash` ("" when no password is set)."""
    value = _setting(HASH_ENV, "teacher", "password_hash").strip()
    if os.environ.get(HASH_ENV) or not TEACHER_FILE.exists():
        return value
    try:
        return str(tomllib.loads(TEACHER_FILE.read_text(encoding="utf-8"))["teacher"]["password_hash"]).strip()
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError):
        return value


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(password: str, hashed: str | None = None) -> bool:
    """Whether `password` matches the configured hash (False when none is set or it is malformed)."""
    hashed = password_hash() if hashed is None else hashed
    if not hashed or not isinstance(password, str):
        return False
    try:
        return _HASHER.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


EMAILS_ENV = "PLAYGROUND_TEACHER_EMAILS"


def teacher_emails() -> set[str]:
    """Who may sign in as the teacher through single sign-on (st.login): PLAYGROUND_TEACHER_EMAILS
    or `[teacher] emails`, comma-separated; none by default."""
    return {e.strip().lower() for e in _setting(EMAILS_ENV, "teacher", "emails").strip("[]").replace('"', "")
            .split(",") if e.strip()}


def closed() -> bool:
    """A closed class server: only learners who joined a class with its code (and the teacher)
    reach the pages that train. PLAYGROUND_CLOSED=1 or `[classroom] closed = true`."""
    return _setting(CLOSED_ENV, "classroom", "closed").strip().lower() in ("1", "true", "yes", "on")


def set_password(password: str, path=TEACHER_FILE) -> None:
    """Write the password's hash to `path` (.streamlit/teacher.toml, which git ignores)."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"the password needs at least {MIN_LENGTH} characters")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Written by `python3 run.py teacher --set-password`: an Argon2 hash, never the password.\n"
                    f'[teacher]\npassword_hash = "{hash_password(password)}"\n', encoding="utf-8")
    path.chmod(0o600)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="run.py teacher", description="The teacher's password (Argon2 hash only).")
    parser.add_argument("--set-password", action="store_true", help="ask for a password, store its hash")
    parser.add_argument("--hash", action="store_true", help=f"print a hash for {HASH_ENV}, store nothing")
    args = parser.parse_args(argv)
    if not (args.set_password or args.hash):
        parser.print_help()
        return 2
    password = getpass.getpass("Teacher password: ")
    if getpass.getpass("Again: ") != password:
        print("The two passwords differ; nothing was changed.", file=sys.stderr)
        return 1
    if len(password) < MIN_LENGTH:
        print(f"The password needs at least {MIN_LENGTH} characters; nothing was changed.", file=sys.stderr)
        return 1
    if args.hash:
        print(hash_password(password))
        return 0
    set_password(password)
    print(f"The password's Argon2 hash is in {TEACHER_FILE}: the app reads it at the next sign-in.")
    if os.environ.get(HASH_ENV):
        print(f"Note: {HASH_ENV} is set in this environment and takes precedence.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
