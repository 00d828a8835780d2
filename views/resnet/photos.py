"""The ResNet page's "your own photos" subsection: the learner's classes and photos (uploads or
the camera), the shipped backbone fine-tuned on them two ways, the held-out results, one photo's
feature maps and a new photo read.

The photos live in this session's state only (decoded once per upload, by its file id, then
found by their digest); a kept run holds class names, counts, figures and weights, never a photo.
"""
from dataclasses import dataclass, field

import altair as alt
import pandas as pd
import streamlit as st
import torch

from core import data, photos, transfer
from core.engine import FAILED
from core.words import LearnerError, Words
from ui.content import escape, say, t
from ui.export import export_box
from ui.runs import Run, RunStore
from ui.share import setting
from ui.training import announce, end_text, estimated, lever, run_training, time_check, train_button

DECODED = "photos_decoded"   # session_state: upload file id -> (Photo | Words)
CAMERA = "photos_camera"     # session_state: class slot -> the camera's photos; "new" -> the photo to read
SHOWN_PROBLEMS = 5           # file messages listed per class; the rest are counted
SHOWN_WRONG = 12             # misclassified photos drawn; the rest are counted
BACKBONE_LRS = [1e-4, 3e-4, 1e-3, 3e-3]
NEW = "new"                  # the camera's target for a photo to read rather than to learn
COLORS = ["#1f77b4", "#ff7f0e"]  # frozen blue, fine-tuning orange: as in the CIFAR comparison below


@dataclass
class Group:
    """One class slot as the learner filled it."""
    number: int
    name: str
    photos: list = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the page tells about its files (already words)


@st.cache_resource(show_spinner=False)
def _backbone() -> transfer.Backbone:
    return transfer.load_backbone()


def _said(problem: Words) -> str:
    """A core message with the learner's own text (file and class names) escaped for Markdown."""
    values = {k: escape(v) if k == "name" else v for k, v in problem.values.items()}
    return say(Words(problem.key, values))


def _decode(upload) -> photos.Photo | Words:
    """An upload's Photo (or why not), decoded once per upload: a rerun only looks it up."""
    cache = st.session_state.setdefault(DECODED, {})
    if upload.file_id not in cache:
        try:
            cache[upload.file_id] = photos.decode(upload.getvalue(), upload.name)
        except LearnerError as exc:
            cache[upload.file_id] = exc.words
    return cache[upload.file_id]


def _class_box(number: int) -> Group:
    typed = st.text_input(t("photos.name_label", number=number), key=f"photos_name_{number}",
                          max_chars=photos.MAX_NAME, placeholder=t("photos.name_placeholder"))
    group = Group(number, photos.clean_name(typed))  # Streamlit cuts a longer name to max_chars itself
    uploads = st.file_uploader(t("photos.upload_label", number=number), accept_multiple_files=True,
                               key=f"photos_files_{number}", max_upload_size=photos.MAX_MB,
                               help=t("photos.upload_help", mb=photos.MAX_MB, most=photos.MAX_PER_CLASS)) or []
    found = [_decode(u) for u in uploads] + st.session_state.get(CAMERA, {}).get(number, [])
    problems = [f for f in found if isinstance(f, Words)]
    if problems:
        listed = [_said(p) for p in problems[:SHOWN_PROBLEMS]]
        if len(problems) > SHOWN_PROBLEMS:
            listed.append(t("photos.more_problems", count=len(problems) - SHOWN_PROBLEMS))
        group.notes.append("\n".join([t("photos.file_problems", number=number, count=len(problems)),
                                      *(f"- {line}" for line in listed)]))
    seen = set()
    for photo in (f for f in found if isinstance(f, photos.Photo)):
        if photo.digest not in seen:
            seen.add(photo.digest)
            group.photos.append(photo)
    repeated = sum(isinstance(f, photos.Photo) for f in found) - len(group.photos)
    if repeated:
        group.notes.append(t("photos.repeated", number=number, count=repeated))
    if len(group.photos) > photos.MAX_PER_CLASS:
        group.notes.append(t("photos.kept_first", number=number, found=len(group.photos), most=photos.MAX_PER_CLASS))
        group.photos = group.photos[:photos.MAX_PER_CLASS]
    return group


def _camera(groups: list[Group]) -> None:
    """One camera for every class (and the photo to read): each new shot goes where the radio says."""
    if not st.toggle(t("photos.camera_toggle"), key="photos_camera_on"):
        return
    shots = st.session_state.setdefault(CAMERA, {})
    names = {g.number: escape(g.name) or t("photos.name_label", number=g.number) for g in groups}
    names[NEW] = t("photos.camera_new")
    left, right = st.columns([1, 2])
    target = left.radio(t("photos.camera_target"), list(names), format_func=names.get, key="photos_camera_target")
    if left.button(t("photos.camera_clear"), key="photos_camera_clear"):
        shots.clear()
    shot = right.camera_input(t("photos.camera_label"), key="photos_camera_shot")
    if shot is not None and shot.file_id not in st.session_state.setdefault(DECODED, {}):
        found = _decode(shot)
        if isinstance(found, Words):
            st.warning(_said(found))
        elif target == NEW:
            shots[NEW] = found
        else:
            shots.setdefault(target, []).append(found)


def render(device: torch.device) -> None:
    """The whole subsection, in one container (.st-key-photos_section: a browser finds it whole)."""
    with st.container(key="photos_section"):
        _render(device)


def _render(device: torch.device) -> None:
    st.subheader(t("photos.header"))
    st.markdown(t("photos.intro", least_classes=photos.MIN_CLASSES, most_classes=photos.MAX_CLASSES,
                  least=photos.MIN_PER_CLASS, most=photos.MAX_PER_CLASS))
    st.info(t("photos.privacy"), icon="🔒")
    try:
        backbone = _backbone()
    except Exception:  # missing, truncated or foreign file: the CIFAR subsection below says how to rebuild it
        path, root = transfer.BACKBONE_PATH, data.DATA_DIR.parent
        st.warning(t("photos.missing", path=path.relative_to(root) if path.is_relative_to(root) else path))
        return
    n = setting(st.slider, t("photos.classes_label"), photos.MIN_CLASSES, photos.MAX_CLASSES, photos.MIN_CLASSES,
                key="photos_classes")
    boxes = st.columns(n)
    summaries = []
    groups = []
    for number, box in enumerate(boxes, start=1):
        with box:
            groups.append(_class_box(number))
            summaries.append(st.container())
    _camera(groups)
    groups = [_class_box_refresh(g) for g in groups]
    for group, summary in zip(groups, summaries):
        with summary:
            st.caption(t("photos.count", count=len(group.photos)))
            if group.photos:
                st.image([p.thumb for p in group.photos[:8]], width=32)
            for note in group.notes:
                st.warning(note)
    filled = [g for g in groups if g.name or g.photos]
    _forget_others(groups)

    c1, c2 = st.columns(2)
    epochs = setting(c1.slider, t("photos.epochs_label"), 5, 60, photos.PhotoSettings.epochs, key="photos_epochs")
    backbone_lr = setting(c2.select_slider, t("photos.backbone_lr_label"), BACKBONE_LRS,
                          photos.PhotoSettings.backbone_lr, key="photos_backbone_lr", format_func="{:g}".format,
                          help=t("photos.backbone_lr_help"))
    settings = photos.PhotoSettings(classes=tuple(g.name for g in filled), counts=tuple(len(g.photos) for g in filled),
                                    epochs=epochs, backbone_lr=backbone_lr)
    problems = photos.check(list(settings.classes), list(settings.counts))
    store = RunStore("resnet_photo_runs")
    announce(store)
    left, right = st.columns([1, 3])
    allowed = False
    if problems:
        show = right.warning if filled else right.info  # nothing given yet is where everyone starts, not a mistake
        show("\n".join([t("photos.cannot_train"), *(f"- {_said(p)}" for p in problems)]))
    else:
        estimate = estimated(photos.estimate_seconds, settings)
        right.caption(t("photos.estimate", n_train=settings.n_train, n_test=settings.n_test, epochs=epochs))
        allowed = time_check(estimate, "photos_train",
                             [lever(t("photos.epochs_label"), epochs, range(5, epochs), estimate)], where=right)
    if train_button(store, t("photos.button"), "photos_train", where=left, type="primary", disabled=not allowed):
        store.clear()  # the subsection shows the latest run only
        task = photos.prepare(settings, [g.photos for g in filled])
        models = photos.build_models(settings, backbone)
        run_training(photos.train_events(settings, models, task, device), key="photos_run", label=t("photos.label"),
                     store=store, settings=settings,
                     results=lambda history, end: photos.results(settings, models, task),
                     weights=models, live_view=lambda history: st.altair_chart(curves_chart(history), width="stretch"),
                     clear=True)
    run = store.latest
    if run is not None:
        _show_run(run, settings, {p.digest: p for g in groups for p in g.photos})
    _read_new(run)
    export_box(store)


def _class_box_refresh(group: Group) -> Group:
    """The camera's photos taken on this rerun join their class (the boxes were drawn before the camera)."""
    taken = [p for p in st.session_state.get(CAMERA, {}).get(group.number, [])
             if p.digest not in {q.digest for q in group.photos}]
    group.photos = (group.photos + taken)[:photos.MAX_PER_CLASS]
    return group


def _forget_others(groups: list[Group]) -> None:
    """Drop decoded photos no widget holds any more, and camera photos of classes no longer shown:
    the session keeps only what the learner still sees."""
    live = set()
    for number in range(1, photos.MAX_CLASSES + 1):
        for upload in st.session_state.get(f"photos_files_{number}") or []:
            live.add(upload.file_id)
    for key in ("photos_camera_shot", "photos_new"):
        if (upload := st.session_state.get(key)) is not None:
            live.add(upload.file_id)
    cache = st.session_state.get(DECODED, {})
    for file_id in [f for f in cache if f not in live]:
        del cache[file_id]
    shots = st.session_state.get(CAMERA, {})
    for number in [k for k in shots if k != NEW and k > len(groups)]:
        del shots[number]


def _names() -> dict[str, str]:
    return {m: t(f"transfer.model_{m}") for m in photos.MODES}


def curves_chart(history: list[dict]) -> alt.Chart:
    """Held-out accuracy after each epoch of both models (also the live view)."""
    names = _names()
    frame = transfer.curves(history)
    frame = frame.assign(model=frame["model"].map(names))
    if frame.empty:
        frame = pd.DataFrame([{"model": names["frozen"], "epoch": 1, "accuracy": None}])
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("epoch:Q", title=t("photos.chart_epoch"), axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("accuracy:Q", title=t("photos.chart_accuracy"), scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("model:N", title=t("photos.chart_model"), legend=alt.Legend(labelLimit=300),
                        scale=alt.Scale(domain=[names[m] for m in photos.MODES], range=COLORS)),
        tooltip=[alt.Tooltip("model:N", title=t("photos.chart_model")),
                 alt.Tooltip("epoch:Q", title=t("photos.chart_epoch")),
                 alt.Tooltip("accuracy:Q", title=t("photos.chart_accuracy"), format=".1f")],
    ).properties(title=t("photos.chart_title"), height=240)


def _show_run(run: Run, settings: photos.PhotoSettings, pool: dict) -> None:
    kept, res = run.settings, run.results
    names = list(kept.classes)
    if (kept.classes, kept.counts) != (settings.classes, settings.counts):
        st.info(t("photos.other_settings", classes=", ".join(escape(n) for n in names), photos=sum(kept.counts)))
    finished = {e["model"] for e in run.history if e["kind"] == "model_end"}
    for mode in photos.MODES:
        if mode not in finished:
            st.warning(t("photos.stopped", model=_names()[mode]))
    for end in (e for e in run.history if e["kind"] == "model_end" and e["reason"] in FAILED):
        st.warning(t("photos.failed", model=_names()[end["model"]], message=end_text(end)))
    for col, mode in zip(st.columns(len(photos.MODES)), photos.MODES):
        col.metric(t("photos.metric", model=_names()[mode]), f"{res['models'][mode]['accuracy']:.1f} %",
                   help=t("photos.metric_help", n_test=res["n_test"], chance=res["chance"]))
    st.altair_chart(curves_chart(run.history), width="stretch")

    mode = st.radio(t("photos.view_label"), photos.MODES, format_func=_names().get, horizontal=True,
                    index=photos.MODES.index("finetune"), key="photos_view")  # usually the better of the two
    found = res["models"][mode]
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{t('photos.per_class_header')}**")
        table = pd.DataFrame({t("photos.col_class"): names,
                              t("photos.col_photos"): [sum(row) for row in found["confusion"]],
                              t("photos.col_accuracy"): ["—" if a is None else f"{a:.0f} %"
                                                         for a in found["per_class"]]})
        st.table(table.set_index(t("photos.col_class")))
    with right:
        st.markdown(f"**{t('photos.confusion_header')}**")
        st.table(pd.DataFrame(found["confusion"], index=pd.Index(names, name=t("photos.truth")), columns=names))
        st.caption(t("photos.confusion_caption"))
    _show_wrong(found["wrong"], names, res["test_digests"], pool)
    if run.state_dict is not None:  # a run over the workspace's weight limit is kept without them
        _show_maps(photos.restore(run.state_dict[mode], len(names), mode), res, found, names, pool)


def _show_wrong(wrong: list[dict], names: list[str], digests: list[str], pool: dict) -> None:
    st.markdown(f"**{t('photos.wrong_header')}**")
    if not wrong:
        st.caption(t("photos.wrong_none"))
        return
    shown = [w for w in wrong if digests[w["position"]] in pool][:SHOWN_WRONG]
    if not shown:
        st.caption(t("photos.gone"))
        return
    for col, w in zip(st.columns(6) * 2, shown):
        col.image(pool[digests[w["position"]]].thumb, width=64)
        col.caption(t("photos.wrong_caption", truth=escape(names[w["truth"]]), answer=escape(names[w["answer"]]),
                      confidence=w["confidence"]))
    if len(wrong) > len(shown):
        st.caption(t("photos.wrong_more", count=len(wrong) - len(shown)))


def _show_maps(model, res: dict, found: dict, names: list[str], pool: dict) -> None:
    st.markdown(f"**{t('photos.maps_header')}**")
    st.caption(t("photos.maps_text"))
    present = [i for i, d in enumerate(res["test_digests"]) if d in pool]
    if not present:
        st.caption(t("photos.gone"))
        return
    answers = {w["position"]: w["answer"] for w in found["wrong"]}
    truth = res["truth"]
    pick = st.select_slider(t("photos.maps_pick"), present, key="photos_maps_photo",
                            format_func=lambda i: str(present.index(i) + 1)) if len(present) > 1 else present[0]
    photo = pool[res["test_digests"][pick]]
    left, right = st.columns([1, 5])
    left.image(photo.thumb, width=96)
    left.caption(t("photos.maps_photo", truth=escape(names[truth[pick]]),
                   answer=escape(names[answers.get(pick, truth[pick])])))
    with right:
        for layer, maps in photos.feature_maps(model, photo):
            st.caption(t(f"photos.layer_{layer}"))
            st.image(list(maps), width=48)


def _read_new(run: Run | None) -> None:
    st.markdown(f"**{t('photos.read_header')}**")
    st.caption(t("photos.read_text"))
    upload = st.file_uploader(t("photos.read_upload"), key="photos_new", max_upload_size=photos.MAX_MB)
    found = _decode(upload) if upload is not None else st.session_state.get(CAMERA, {}).get(NEW)
    if found is None:
        return
    if isinstance(found, Words):
        st.warning(_said(found))
        return
    if run is None or run.state_dict is None:  # nothing trained, or a run kept without its weights
        st.info(t("photos.train_first"))
        return
    mode = st.session_state.get("photos_view", "finetune")  # the model the results above look at
    names = list(run.settings.classes)
    probs = photos.probabilities(photos.restore(run.state_dict[mode], len(names), mode), found)
    best = int(probs.argmax())
    left, right = st.columns([1, 3])
    left.image(found.thumb, width=96)
    right.markdown(t("photos.read_answer", model=_names()[mode], name=escape(names[best]), probability=probs[best]))
    column = t("photos.chart_probability")
    bars = st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="percent")
    right.dataframe(pd.DataFrame({t("photos.chart_class"): names, column: probs}), hide_index=True, width="stretch",
                    column_config={column: bars})
