"""The cheaper paths the pages take (issue 16's page costs) give the same answers as the expensive ones."""

import importlib
import pkgutil
from datetime import date

from werkzeug.datastructures import MultiDict
from wtforms.meta import DefaultMeta

import failforward
from failforward.coaching import services as coaching
from failforward.cycles.forms import PlanForm
from failforward.forms import Form
from tests.factories import link, text

AWKWARD = 'a "quoted" <b>bold</b> & \'single\' 3'


def every_form_class() -> list[type[Form]]:
    for module in pkgutil.walk_packages(failforward.__path__, "failforward."):
        if module.name.endswith(".forms"):
            importlib.import_module(module.name)
    found, todo = [], [Form]
    while todo:
        for child in todo.pop().__subclasses__():
            found.append(child)
            todo.append(child)
    return found


def build(form_class: type[Form], formdata=None) -> Form:
    extra = {"today": date(2026, 3, 4)} if issubclass(form_class, PlanForm) else {}
    return form_class(formdata=formdata, **extra)


def test_every_field_is_drawn_exactly_as_wtforms_draws_it(app):
    """The base form writes plain inputs and text areas itself (WTForms' attribute joiner was most of a
    field's cost): every field of every form, empty and holding awkward text, with the attributes the
    field macro passes, comes out byte for byte as WTForms' own widgets write it."""
    drawn = 0
    with app.test_request_context("/"):
        for form_class in every_form_class():
            names = [field.name for field in build(form_class)]
            for formdata in (None, MultiDict({name: AWKWARD for name in names})):
                form = build(form_class, formdata)
                for field in form:
                    for extra in ({}, {"aria_describedby": "x-hint x-error", "aria_invalid": "true"},
                                  {"type": "number", "aria_describedby": False, "aria_invalid": False}):
                        expected = DefaultMeta.render_field(form.meta, field, dict(extra))
                        assert str(form.meta.render_field(field, dict(extra))) == str(expected), (
                            form_class.__name__, field.name, extra)
                        drawn += 1
    assert drawn > 1000  # the walk really found the app's forms


def test_the_quick_log_card_keeps_what_was_typed_and_its_limits(client, login, make_user):
    """The fields drawn by the fast path still carry the typed text (escaped) and the validators' limits."""
    from tests.factories import make_drill, make_goal

    learner = make_user()
    drill = make_drill(make_goal(learner))
    login(learner)
    page = text(client.post("/reps", data={"drill_id": str(drill.id), "value": "", "note": AWKWARD,
                                           "duration_minutes": "5", "idempotency_key": "costs-key-0001"}))
    assert 'maxlength="2000" name="note" rows="2">\r\na &#34;quoted&#34; &lt;b&gt;bold&lt;/b&gt;' in page
    assert 'max="1440" min="0" name="duration_minutes" type="number" value="5"' in page
    assert 'aria-invalid="true"' in page and 'name="value" required type="text" value=""' in page


def test_is_coach_is_asked_once_a_request_and_forgets_when_a_link_ends(app, make_user):
    coach, learner = make_user(), make_user()
    the_link = link(coach, learner)
    with app.test_request_context("/"):
        assert coaching.is_coach(coach) and [each.learner_id for each in coaching.roster(coach)] == [learner.id]
        coaching.end_link(learner, the_link)
        assert not coaching.is_coach(coach) and coaching.roster(coach) == []
    with app.test_request_context("/"):
        assert not coaching.is_coach(coach)


def test_a_learner_who_coaches_no_one_gets_no_coach_queries_on_home(client, login, make_user):
    """The menu and the home page's coach-only parts share one answer: a learner's home asks it once,
    and a coach's home still lists their learners."""
    from tests.test_query_counts import counting_queries

    coach, learner = make_user(name="Casey Coach"), make_user(name="Lee Learner")
    link(coach, learner)
    login(learner)
    with counting_queries() as statements:
        assert "Casey Coach" in text(client.get("/"))
    assert sum("FROM coaching_link" in s and "EXISTS" in s for s in statements) == 1
    assert not any("FROM risk" in s for s in statements)  # the coach-owned risks: none for a learner
    login(coach)
    assert "Lee Learner" in text(client.get("/"))
