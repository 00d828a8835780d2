"""The app as the servers run it: app.py with a warm-up at server start, and a /ready route.

    python -m streamlit run deploy/serve.py [streamlit options]    # what run.py, classroom, the image run

`streamlit run app.py` runs no app code until the first browser session, so the first learner
of a fresh server waited for PyTorch's optimizer machinery, torchvision, MNIST and the digit
readers (9.4 s on the ANN page). Streamlit runs a script holding an `st.App` as an ASGI app
with a lifespan: at start it launches `core.warmup.warm()` in a background thread: the
imports, data sets and shipped models every learner needs (only Streamlit's public API is used
here: no page is opened behind the learners' backs, so no workspace is made for nobody). The
server answers from the first second;
GET /ready says 503 {"ready": false, …} until the warm-up has finished, then 200. Readiness
checks (HAProxy in run.py classroom, Kubernetes' startupProbe) use it, so no learner is sent
to a server that is still warming. PLAYGROUND_WARMUP=0 turns it off (then /ready is 200 at once).
/ready also counts the trainings running and queued (deploy/drain.py waits for them before a pod stops).
"""
import asyncio
import contextlib
import gc
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run deploy/serve.py` puts deploy/ first, not the root
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from core import warmup  # noqa: E402

log = logging.getLogger("playground.serve")
STATE = {"ready": False, "seconds": None, "steps": {}, "frozen_objects": 0}


def _app_modules() -> None:
    """The modules the first session would import: db (SQLAlchemy, Alembic and what Alembic
    brings), the shared ui pieces and the pages' own modules (never a page script itself: that
    would run the page)."""
    import importlib
    import pkgutil

    import streamlit.emojis  # noqa: F401  (read by the first label that may start with an emoji)

    import db  # noqa: F401
    import ui

    for module in pkgutil.iter_modules(ui.__path__):
        importlib.import_module(f"ui.{module.name}")
    for folder in sorted(p for p in (ROOT / "views").iterdir() if (p / "__init__.py").exists()):
        for module in pkgutil.iter_modules([str(folder)]):
            if module.name != folder.name:
                importlib.import_module(f"views.{folder.name}.{module.name}")


def _database() -> None:
    """The learners' database migrated to head (once per process), as the first session's
    connection would do it; the app's own connection then finds it done."""
    import db

    db.connect(heartbeat=False)


APP_STEPS = (("app_modules", _app_modules), ("database", _database))


async def warm_server() -> None:
    """The process-wide warm-up (core.warmup, then the app's modules and database), in a thread:
    the server answers meanwhile."""
    started = time.perf_counter()
    try:
        STATE["steps"] = await asyncio.to_thread(warmup.warm, warmup.STEPS + APP_STEPS)
        # Streamlit collects garbage after every script run (runner.postScriptGC), and until then the
        # server sends nothing else, the run's "finished" included. Everything loaded so far stays for
        # the server's life: frozen, the collector no longer walks those objects after each run (a
        # few hundredths of a second instead of tenths on every rerun).
        gc.collect()
        gc.freeze()
        STATE["frozen_objects"] = gc.get_freeze_count()
    except Exception as exc:  # noqa: BLE001  (warming never stops the server)
        log.warning("warm-up stopped: %r", exc)
    finally:
        STATE["seconds"] = round(time.perf_counter() - started, 2)
        STATE["ready"] = True
        print(f"Warm-up finished in {STATE['seconds']} s", flush=True)


@contextlib.asynccontextmanager
async def lifespan(_app):
    task = None
    if os.environ.get("PLAYGROUND_WARMUP", "1") == "0":
        STATE["ready"] = True
    else:
        task = asyncio.create_task(warm_server())
    try:
        yield
    finally:
        if task is not None and not task.done():
            task.cancel()


def trainings() -> dict:
    """How many trainings run and wait in this process's queue (core.slots), for deploy/drain.py."""
    from core import slots

    running, waiting = slots.load()
    return {"running": running, "waiting": waiting}


async def ready(_request):
    """200 once the warm-up has finished (503 before), with what it did and how long it took, and
    the trainings running and waiting now."""
    return JSONResponse({**STATE, "trainings": trainings()}, status_code=200 if STATE["ready"] else 503)


app = st.App(ROOT / "app.py", lifespan=lifespan, routes=[Route("/ready", ready)])
