"""The teacher's view under AppTest: sign-in (Argon2 hash, locked after five wrong tries), classes
and assignments, learners joining with hostile names shown as text, the progress table and the
grades out, a closed class server, and no way for a learner to reach any of it."""
import io

import pandas as pd
import pytest

from conftest import open_link, open_page
from core import teacher
from core.words import sections
from ui import workspace
from views.teacher import dashboard

PASSWORD = "correct horse battery"
TEACHER, LESSONS, PERCEPTRON = "views/teacher/teacher.py", "views/lessons/lessons.py", "views/perceptron/perceptron.py"
EN = sections("en", "teacher")


@pytest.fixture
def password(monkeypatch):
    monkeypatch.setenv(teacher.HASH_ENV, teacher.hash_password(PASSWORD))
    database = workspace.database()
    database.clear_sign_in_failures()
    yield
    database.clear_sign_in_failures()


def _form_button(at, label: str):
    return next(b for b in at.button if b.label == label)


def _sign_in(at, password: str = PASSWORD):
    at.text_input(key="teacher_password").input(password)
    _form_button(at, EN["sign_in"]).click().run()
    return at


def _teacher(lang: str = "en"):
    at = open_link(TEACHER, {"lang": lang})
    return _sign_in(at) if lang == "en" else _sign_in_ko(at)


def _sign_in_ko(at):
    at.text_input(key="teacher_password").input(PASSWORD)
    _form_button(at, sections("ko", "teacher")["sign_in"]).click().run()
    return at


def test_without_a_password_the_page_says_how_to_set_one(monkeypatch):
    monkeypatch.delenv(teacher.HASH_ENV, raising=False)
    monkeypatch.setattr(teacher, "TEACHER_FILE", teacher.TEACHER_FILE.with_name("missing-teacher.toml"))
    at = open_page(TEACHER)
    assert not at.exception
    assert any("run.py teacher --set-password" in i.value for i in at.info)
    assert not [w for w in at.text_input if w.key == "teacher_password"]  # no sign-in form without a password


def test_the_password_is_kept_as_an_argon2_hash_only(tmp_path):
    path = tmp_path / "teacher.toml"
    teacher.set_password(PASSWORD, path)
    text = path.read_text()
    assert PASSWORD not in text and "$argon2id$" in text
    assert teacher.verify(PASSWORD, text.split('"')[1]) and not teacher.verify("wrong", text.split('"')[1])
    with pytest.raises(ValueError):
        teacher.set_password("short", path)


def test_five_wrong_passwords_lock_the_sign_in(password):
    at = open_link(TEACHER, {"lang": "en"})
    for _ in range(teacher.LOCK_FAILURES):
        _sign_in(at, "not it")
        assert not at.exception
    assert any("locked" in e.value for e in at.error)
    at.run()
    assert _form_button(at, EN["sign_in"]).disabled
    other = open_link(TEACHER, {"lang": "en"})  # another session (another replica too): the same lock
    assert _form_button(other, EN["sign_in"]).disabled


def test_a_teacher_makes_a_class_learners_join_and_the_grades_come_out(password):
    at = _teacher()
    assert not at.exception, [e.message for e in at.exception]
    name_box = next(w for w in at.text_input if w.label == EN["class_name"])
    name_box.input("3학년 2반 <b>AI</b>")
    _form_button(at, EN["create"]).click().run()
    assert not at.exception, [e.message for e in at.exception]
    database = workspace.database()
    made = next(c for c in database.classes() if c.name == "3학년 2반 <b>AI</b>")
    database.set_assignments(made.id, [("xor_hidden", None), ("lr_too_big", None)])

    hostile = ["<script>alert(1)</script>", "김철수", "x" * 10_000, "مرحبا\u202eabc", "🙂 **bold** [x](http://e)"]
    learners = []
    for name in hostile:
        learner = open_link(PERCEPTRON, {"lang": "en"})
        learner.sidebar.text_input(key="classroom_sidebar_code").input(made.code.lower())
        learner.sidebar.text_input(key="classroom_sidebar_name").input(name)
        _form_button(learner, sections("en", "classroom")["join"]).click().run()
        assert not learner.exception, [e.message for e in learner.exception]
        learners.append(learner)
    roster = {m.display_name for m in database.roster(made.id)}
    assert roster == {"<script>alert(1)</script>", "김철수", "🙂 **bold** [x](http://e)"}  # too long, RTL refused
    assert learners[2].error  # the box holds 40 characters at most; the database refuses more (test_db_classes)
    assert any("invisible or control" in e.value for e in learners[3].error)
    toasts = [t.value for t in learners[4].get("toast")]
    assert any(r"\*\*bold\*\*" in t for t in toasts)  # shown as typed, never as Markdown

    # A learner opens the lesson, predicts and runs it: the teacher's table shows it.
    kim = learners[1]
    lesson = sections("en", "lessons")
    kim = open_link(PERCEPTRON, {"ws": kim.session_state["_workspace"]["key"], "lang": "en",
                                 "perceptron_dataset": "XOR", "perceptron_mlp_hidden": "2", "lesson": "xor_hidden"})
    assert any(lesson["xor_hidden_predict"][:30] in m.value for m in kim.markdown)
    kim.number_input(key="lesson_predict_answer").set_value(75).run()  # a number: the accuracy in %
    kim.button(key="lesson_predict_lock").click().run()
    kim.button(key="perceptron_mlp_train").click().run()
    assert not kim.exception, [e.message for e in kim.exception]
    assert any("the run gave" in s.value for s in [*kim.success, *kim.info])

    roster_, assignments, cells = dashboard.grid(database, made.id)
    by_name = {m.display_name: m.workspace_id for m in roster_}
    cell = cells[(by_name["김철수"], "xor_hidden")]
    assert cell.status == "met" and cell.figure == 100.0 and cell.answer is not None and cell.right is not None
    assert cells[(by_name["<script>alert(1)</script>"], "lr_too_big")].status == "not_opened"

    at.run()
    assert not at.exception, [e.message for e in at.exception]
    grid = next(d.value for d in at.dataframe if "김철수" in list(d.value.index))
    assert "✅" in grid.loc["김철수"].iloc[0]
    rows, columns = dashboard.grade_rows(roster_, assignments, cells)
    import db

    table = pd.read_csv(io.BytesIO(db.export_csv(rows, columns)), encoding="utf-8-sig")
    assert list(table.columns) == columns and "김철수" in set(table["learner"])
    assert set(table["xor_hidden:status"]) >= {"met", "not_opened"}


def test_a_learner_cannot_reach_the_teachers_page_by_any_parameter(password):
    for query in ({"teacher": "1"}, {"_teacher_signed_in": "true"}, {"signed_in": "1", "lang": "en"},
                  {"ws": "x" * 43, "admin": "1"}):
        at = open_link(TEACHER, query)
        assert not at.exception
        assert at.text_input(key="teacher_password")  # the sign-in form, nothing else
        assert not at.dataframe and not any(h.value == EN["classes_header"] for h in at.header)


def test_a_closed_class_server_lets_only_joined_learners_train(monkeypatch, password):
    monkeypatch.setenv(teacher.CLOSED_ENV, "1")
    stranger = open_page("views/home/home.py")  # a stranger on the network: the join form, nothing that trains
    assert not stranger.exception
    with pytest.raises(ValueError):  # the training pages are not even in the navigation
        stranger.switch_page(PERCEPTRON)
    assert any(sections("en", "classroom")["closed_title"] in t.value for t in stranger.title)
    made = workspace.database().create_class("Closed class")
    stranger.text_input(key="classroom_door_code").input(made.code)
    stranger.text_input(key="classroom_door_name").input("Lee")
    _form_button(stranger, sections("en", "classroom")["join"]).click().run()
    stranger.switch_page(PERCEPTRON).run()
    assert not stranger.exception and stranger.button(key="perceptron_mlp_train")


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_teacher_page_reads_in_both_languages(password, lang):
    at = _teacher(lang)
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == sections(lang, "teacher")["title"].strip()
