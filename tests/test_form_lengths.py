"""Nothing typed is lost without a word: no field renders a `maxlength` (a browser cuts what is typed or
pasted beyond it silently); every text field has a server-side Length whose message says the most and the
count, and a value a form accepts fits the column it is saved in."""

import importlib
import pkgutil

import pytest
import sqlalchemy as sa
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField

import msc
from msc.db import Base
from msc.forms import Length


def _form_classes() -> list[type[FlaskForm]]:
    for module in pkgutil.walk_packages(msc.__path__, "msc."):
        if module.name.endswith(".forms") or module.name == "msc.forms":
            importlib.import_module(module.name)
    found, todo = [], list(FlaskForm.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("msc."):
            found.append(cls)
    return sorted(found, key=lambda c: f"{c.__module__}.{c.__qualname__}")


FORMS = _form_classes()


def _typed_fields(form):
    """The fields a person types free text into."""
    return [f for f in form if isinstance(f, StringField | TextAreaField) and not isinstance(f, HiddenField)]


#: where a package's forms save what they take, when not in its own models
SAVED_IN = {"admin": ("admin", "centres", "security")}

#: form fields whose name is a column's of another model of their package (the value is saved elsewhere)
NOT_THAT_COLUMN = {
    "RefusalForm.reason": "the refusal of a correction, stored encrypted (CorrectionRequest.refusal)",
}


def _columns_by_package() -> dict[str, dict[str, list[sa.Column]]]:
    out: dict[str, dict[str, list[sa.Column]]] = {}
    for mapper in Base.registry.mappers:
        package = mapper.class_.__module__.split(".")[1]
        for column in mapper.columns:
            out.setdefault(package, {}).setdefault(column.key, []).append(column)
    return out


def test_the_walk_finds_the_forms():
    names = {c.__name__ for c in FORMS}
    assert {"PersonForm", "ApplicationForm", "OrganisationForm", "LoginForm"} <= names and len(FORMS) > 40


@pytest.mark.parametrize("form_class", FORMS, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_no_field_cuts_what_is_typed_and_every_text_field_is_bounded(app, form_class):
    columns = _columns_by_package()
    package = form_class.__module__.split(".")[1]
    with app.test_request_context():
        form = form_class(meta={"csrf": False})
        for field in form:
            assert "maxlength" not in str(field()), f"{field.name} renders a maxlength"
        for field in _typed_fields(form):
            bounds = [v.max for v in field.validators if isinstance(v, Length) and v.max != -1]
            assert bounds, f"{field.name} has no Length: nothing stops a value longer than its column"
            if f"{form_class.__name__}.{field.name}" in NOT_THAT_COLUMN:
                continue
            for column in (
                c for p in SAVED_IN.get(package, (package,)) for c in columns.get(p, {}).get(field.name, [])
            ):
                size = getattr(column.type, "length", None)
                assert size is None or bounds[0] <= size, f"{field.name}: the form takes {bounds[0]}, {column} {size}"


def test_too_long_says_the_most_and_the_count_and_keeps_the_value(app):
    from msc.beneficiaries.forms import PersonForm

    typed = "Á" * 300
    with app.test_request_context(method="POST", data={"given_names": typed}):
        form = PersonForm(meta={"csrf": False})
        form.validate()
        assert form.given_names.errors == ["Use at most 100 characters: this has 300."]
        assert form.given_names.data == typed and f'value="{typed}"' in str(form.given_names())


def test_a_300_character_name_comes_back_with_the_message_and_all_300_characters(app, make, client, auth):
    from tests.test_reception_http import _person, form_for

    make.user("clerk", "reception", locale="es")
    auth.login("clerk")
    name = "María José " * 27 + "Ana"  # 300 characters
    assert len(name) == 300
    res = client.post("/register", data=form_for(client, given_names=name))
    html = res.get_data(as_text=True)
    assert res.status_code == 422
    assert "Use como máximo 100 caracteres: ahora tiene 300." in html
    assert f'value="{name}"' in html and "maxlength" not in html
    assert _person(app) is None  # nothing saved
