"""Where the database is and how much each learner may keep: environment variables first, then
`.streamlit/playground.toml`, then defaults (read through core.slots' one settings helper).

Read at call time, not at import, so a test or a command can point the app elsewhere.
"""
from pathlib import Path

from core.slots import _setting

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = ROOT / "data" / ".workspaces"  # gitignored: learners' work never lands in a commit
DATABASE_FILE = "playground.db"
MB = 1024 * 1024

URL_ENV, DATA_DIR_ENV = "PLAYGROUND_DATABASE_URL", "PLAYGROUND_DATA_DIR"
QUOTA_ENV, MAX_WEIGHTS_ENV = "PLAYGROUND_QUOTA_MB", "PLAYGROUND_MAX_WEIGHTS_MB"
RETENTION_ENV = "PLAYGROUND_RETENTION_DAYS"
QUOTA_MB, MAX_WEIGHTS_MB, RETENTION_DAYS = 200.0, 20.0, 30.0


def data_dir() -> Path:
    """The folder of the embedded SQLite database: PLAYGROUND_DATA_DIR, else the settings file's
    `[database] data_dir`, else data/.workspaces in the repository."""
    value = _setting(DATA_DIR_ENV, "database", "data_dir").strip()
    return Path(value).expanduser() if value else DEFAULT_DATA_DIR


def database_url() -> str:
    """PLAYGROUND_DATABASE_URL, else the settings file's `[database] url`, else SQLite in data_dir()."""
    value = _setting(URL_ENV, "database", "url").strip()
    if value:
        return value
    return f"sqlite:///{data_dir() / DATABASE_FILE}"


def _number(env_var: str, name: str, default: float) -> float:
    value = _setting(env_var, "workspaces", name).strip()
    try:
        number = float(value) if value else default
    except ValueError:
        return default
    return number if number >= 0 else default


def quota_bytes() -> int:
    """Bytes one workspace may keep in all (runs and weights): PLAYGROUND_QUOTA_MB or
    `[workspaces] quota_mb`, default 200 MB (MB = 2**20 bytes)."""
    return int(_number(QUOTA_ENV, "quota_mb", QUOTA_MB) * MB)


def max_weights_bytes() -> int:
    """Largest weights kept with a run: PLAYGROUND_MAX_WEIGHTS_MB or `[workspaces] max_weights_mb`,
    default 20 MB; a run with bigger weights is kept without them and says so."""
    return int(_number(MAX_WEIGHTS_ENV, "max_weights_mb", MAX_WEIGHTS_MB) * MB)


def retention_days() -> float:
    """Days a workspace may go unused before purge_idle() drops it: PLAYGROUND_RETENTION_DAYS or
    `[workspaces] retention_days`, default 30."""
    return _number(RETENTION_ENV, "retention_days", RETENTION_DAYS)
