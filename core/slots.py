"""Fair training slots: a process-wide, first-come-first-served queue with a few places.

Every learner's session runs its script in a thread of the one server process. When many
press Train together, running every training at once makes all of them slow (they share the
cores) and nobody finishes early; with a few slots, the first learners finish at full speed
and the others wait their turn, each seeing their place in the queue and the expected wait.
"""
import collections
import os
import threading
import time
import tomllib
from pathlib import Path

SETTINGS_FILE = Path(__file__).resolve().parent.parent / ".streamlit" / "playground.toml"
ENV_VAR = "PLAYGROUND_TRAINING_SLOTS"
GPU_SLOTS = 2  # a GPU overlaps a couple of small trainings without slowing either much


class Ticket:
    """One learner's place: waiting in the queue, then holding a slot, then released."""

    def __init__(self, label: str):
        self.label = label
        self.joined = time.monotonic()
        self.granted_at: float | None = None
        self.released = False
        self.owner = threading.current_thread()  # a slot held by a dead thread is reclaimed

    @property
    def granted(self) -> bool:
        return self.granted_at is not None and not self.released


class TrainingSlots:
    """`capacity` trainings at once; the rest wait in order of arrival."""

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._cond = threading.Condition()
        self._holders: list[Ticket] = []
        self._queue: collections.deque[Ticket] = collections.deque()
        self._durations: collections.deque[float] = collections.deque(maxlen=20)  # recent runs

    def join(self, label: str = "") -> Ticket:
        """Take a place at the back of the queue (granted at once when a slot is free)."""
        ticket = Ticket(label)
        with self._cond:
            self._queue.append(ticket)
            self._grant()
        return ticket

    def wait(self, ticket: Ticket, timeout: float | None = None) -> bool:
        """Block until `ticket` holds a slot (True) or `timeout` seconds pass (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not ticket.granted:
                if ticket.released:
                    raise RuntimeError("this ticket left the queue")
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(1.0 if remaining is None else min(remaining, 1.0))
                self._grant()  # also reclaims slots of threads that died holding one
            return True

    def release(self, ticket: Ticket) -> None:
        """Give the slot back, or leave the queue; safe to call twice."""
        with self._cond:
            if ticket.released:
                return
            if ticket in self._holders:
                self._holders.remove(ticket)
                self._durations.append(time.monotonic() - ticket.granted_at)
            elif ticket in self._queue:
                self._queue.remove(ticket)
            ticket.released = True
            self._grant()
            self._cond.notify_all()

    def position(self, ticket: Ticket) -> int:
        """0 while holding a slot; 1 for the first in the queue, 2 for the next, …"""
        with self._cond:
            if ticket.granted:
                return 0
            return self._queue.index(ticket) + 1 if ticket in self._queue else 0

    def estimated_wait(self, ticket: Ticket) -> float | None:
        """Seconds until `ticket` should get a slot, from recent runs' lengths; None before any."""
        with self._cond:
            if ticket.granted or ticket not in self._queue or not self._durations:
                return 0.0 if ticket.granted else None
            typical = sum(self._durations) / len(self._durations)
            now = time.monotonic()
            # Slots free up as the holders finish; then every `capacity` tickets ahead take one turn.
            left = sorted(max(0.0, typical - (now - h.granted_at)) for h in self._holders)
            ahead = self._queue.index(ticket)
            rounds, seat = divmod(ahead, self.capacity)
            first_free = left[seat] if seat < len(left) else 0.0
            return first_free + rounds * typical

    @property
    def busy(self) -> tuple[int, int]:
        """(slots in use, learners waiting)."""
        with self._cond:
            return len(self._holders), len(self._queue)

    def _grant(self) -> None:
        for holder in [h for h in self._holders if not h.owner.is_alive()]:
            self._holders.remove(holder)  # its thread ended without releasing (a closed tab)
            holder.released = True
        for waiting in [w for w in self._queue if not w.owner.is_alive()]:
            self._queue.remove(waiting)
            waiting.released = True
        granted = False
        while self._queue and len(self._holders) < self.capacity:
            ticket = self._queue.popleft()
            ticket.granted_at = time.monotonic()
            self._holders.append(ticket)
            granted = True
        if granted:
            self._cond.notify_all()


def _setting(env_var: str, section: str, name: str) -> str:
    """A playground setting as text: the environment variable, else the settings file's
    `[section] name`, else "" (the caller's default)."""
    value = os.environ.get(env_var)
    if not value and SETTINGS_FILE.exists():
        value = str(tomllib.loads(SETTINGS_FILE.read_text()).get(section, {}).get(name, ""))
    return value or ""


def configured_capacity(device_type: str, cpu_cores: int | None = None) -> int:
    """The number of slots: PLAYGROUND_TRAINING_SLOTS, else .streamlit/playground.toml's
    `training_slots`, else CPU cores − 1 (at least 1) on a CPU and GPU_SLOTS on a GPU."""
    value = _setting(ENV_VAR, "classroom", "training_slots")
    if value and value.strip() not in ("", "0"):
        return max(1, int(value))
    if device_type != "cpu":
        return GPU_SLOTS
    cores = cpu_cores or os.cpu_count() or 1
    return max(1, cores - 1)


CONFIRM_ENV_VAR = "PLAYGROUND_CONFIRM_SECONDS"
CONFIRM_SECONDS = 60.0  # runs estimated longer than this ask the learner to confirm first


def confirm_seconds() -> float:
    """The estimate above which a training asks for confirmation: PLAYGROUND_CONFIRM_SECONDS,
    else .streamlit/playground.toml's `[training] confirm_above_seconds`, else CONFIRM_SECONDS
    (a single-user machine may raise it; a class server may lower it)."""
    value = _setting(CONFIRM_ENV_VAR, "training", "confirm_above_seconds")
    try:
        return max(0.0, float(value)) if value else CONFIRM_SECONDS
    except ValueError:
        return CONFIRM_SECONDS


_shared: TrainingSlots | None = None
_shared_lock = threading.Lock()


def load() -> tuple[int, int]:
    """(trainings running, trainings waiting) in this process now; (0, 0) before the first."""
    with _shared_lock:
        return _shared.busy if _shared is not None else (0, 0)


def shared(device_type: str = "cpu") -> TrainingSlots:
    """The server process's one queue (made on first use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = TrainingSlots(configured_capacity(device_type))
        return _shared
