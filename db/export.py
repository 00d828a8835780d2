""""Download my data": a workspace as one zip a learner can keep and any tool can read.

workspace.json holds every run (settings, history, end event, results as the db.codec JSON
they are stored in, with their link and times) and the lesson progress; each run's weights
are runs/<store>-<n>-weights.pt (a state_dict: torch.load(f, weights_only=True)) and its large
arrays, if any, runs/<store>-<n>-arrays.pt, named in the JSON where they belong.
"""
import io
import json
import zipfile

from sqlalchemy import Engine, select

from db.engine import reading
from db.schema import ProgressRow, RunRow, WorkspaceRow
from db.workspaces import Workspace, find_workspace, workspace_id

FORMAT = "deep-learning-playground workspace"
VERSION = 1
README = """Your work in the Deep Learning Playground.

workspace.json   every run you kept (its settings, the training history, the end and the
                 results) and your lesson progress. Values JSON has no word for are objects
                 {"$t": kind, ...}: e.g. {"$t": "tuple", "v": [...]} or a NumPy array whose
                 bytes are base64 ("b64") or in the run's arrays file ("blob": its name).
runs/*-weights.pt   a run's model weights: torch.load(path, weights_only=True) gives its state_dict.
runs/*-arrays.pt    a run's large arrays, by the names workspace.json gives them.
"""


def export_workspace(engine: Engine, key_or_ws) -> bytes | None:
    """The workspace's zip (see the module's text); None when the key is unknown."""
    ws = key_or_ws if isinstance(key_or_ws, (Workspace, int)) else find_workspace(engine, key_or_ws)
    if ws is None:
        return None
    ws_id = workspace_id(ws)
    buffer = io.BytesIO()
    with reading(engine) as session, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        found = session.get(WorkspaceRow, ws_id)
        if found is None:
            return None
        runs = []
        for row in session.scalars(select(RunRow).where(RunRow.workspace_id == ws_id)
                                   .order_by(RunRow.store, RunRow.run_no)):
            stem = f"runs/{row.store}-{row.run_no}"
            files = {}
            for part, data in (("weights", row.weights), ("arrays", row.arrays)):
                if data:
                    files[part] = f"{stem}-{part}.pt"
                    archive.writestr(files[part], data, compress_type=zipfile.ZIP_STORED)
            runs.append({"store": row.store, "run": row.run_no, "status": row.status, "link": row.link,
                         "created": row.created.isoformat(), "updated": row.updated.isoformat(),
                         "size_bytes": row.size_bytes, "weights": files.get("weights"),
                         "weights_note": row.weights_note, "arrays": files.get("arrays"),
                         "settings": json.loads(row.settings), "history": json.loads(row.history),
                         "end": json.loads(row.end_event), "results": json.loads(row.results)})
        progress = [{"kind": p.kind, "item": p.item, "status": p.status, "detail": json.loads(p.detail),
                     "updated": p.updated.isoformat()}
                    for p in session.scalars(select(ProgressRow).where(ProgressRow.workspace_id == ws_id)
                                             .order_by(ProgressRow.kind, ProgressRow.item))]
        document = {"format": FORMAT, "version": VERSION, "created": found.created.isoformat(),
                    "last_seen": found.last_seen.isoformat(), "runs": runs, "progress": progress}
        archive.writestr("workspace.json", json.dumps(document, ensure_ascii=True, allow_nan=False, indent=1))
        archive.writestr("README.txt", README)
    return buffer.getvalue()
