"""The shared handling of a form that comes back: a rule's no on the form, and the page's status."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired

from msc.errors import DomainError, RuleError
from msc.forms import form_status, rule_on_form
from tests.conftest import PASSWORD, csrf


class NameForm(FlaskForm):
    name = StringField("Name", [InputRequired()])


@pytest.fixture
def bare():
    """A bare Flask app: the helpers need a request, not the whole of MSC Case."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test", WTF_CSRF_ENABLED=False)
    return app


def _posted(bare, **data):
    """A NameForm as a POST of `data` sends it, validated."""
    with bare.test_request_context(method="POST", data=data):
        form = NameForm()
        form.validate_on_submit()
        return form


def test_a_fresh_form_is_200(bare):
    with bare.test_request_context():
        form = NameForm()
        assert form_status(form) == 200


def test_a_valid_post_is_200(bare):
    assert form_status(_posted(bare, name="Ana")) == 200


def test_a_field_error_is_422(bare):
    form = _posted(bare, name="")
    assert form.errors and form_status(form) == 422


def test_a_rules_no_lands_on_the_field_it_names(bare):
    form = _posted(bare, name="Ana")
    after = []
    with rule_on_form(form):
        raise DomainError("That name is taken.", field="name")
        after.append("ran")  # never reached: the rest of the block is skipped
    assert after == []
    assert form.name.errors == ["That name is taken."]
    assert form.form_errors == []
    assert form_status(form) == 422


def test_a_rules_no_without_a_field_lands_on_the_form(bare):
    form = _posted(bare, name="Ana")
    with rule_on_form(form):
        raise RuleError("Not now.")
    with rule_on_form(form):
        raise RuleError("Not here either.", field="no_such_field")
    assert form.form_errors == ["Not now.", "Not here either."]
    assert form.name.errors == []
    assert list(form.errors.values()) == [["Not now.", "Not here either."]]  # form.errors includes form_errors
    assert form_status(form) == 422


def test_a_rules_no_adds_to_the_fields_own_errors(bare):
    form = _posted(bare, name="")
    with rule_on_form(form):
        raise DomainError("And it is taken.", field="name")
    assert form.name.errors[-1] == "And it is taken." and len(form.name.errors) == 2


def test_a_block_that_passes_leaves_the_form_alone(bare):
    form = _posted(bare, name="Ana")
    with rule_on_form(form):
        done = True
    assert done and form.errors == {} and form_status(form) == 200


def test_any_other_exception_goes_on_up(bare):
    form = _posted(bare, name="Ana")
    with pytest.raises(ValueError), rule_on_form(form):
        raise ValueError("a bug, not a rule")
    assert form.errors == {} and form_status(form) == 200


def test_the_status_of_several_forms_is_422_when_any_comes_back_wrong(bare):
    good, bad = _posted(bare, name="Ana"), _posted(bare, name="")
    assert form_status(good, good) == 200
    assert form_status(good, bad) == 422
    assert form_status() == 200


# ---- a page that keeps its own reason for a 422 ----------------------------------------------


def test_the_account_page_refuses_a_post_that_fills_in_neither_form(make, auth, client):
    make.user("clerk", "reception")
    auth.login("clerk")
    assert client.get("/account").status_code == 200
    token = csrf(client, "/account")
    assert client.post("/account", data={"pw-csrf_token": token, "lang-csrf_token": token}).status_code == 422
    res = client.post("/account", data={"pw-current_password": PASSWORD, "pw-new_password": "", "pw-csrf_token": token})
    assert res.status_code == 422  # the new password is missing


@pytest.mark.parametrize(
    "attributes",
    [
        {"name": "text1", "id": "f", "class_": "text"},
        {"checked": True, "readonly": False, "name": "text1", "abc": "hello"},
        {"data_attr": "user.name", "aria_describedby": "x-hint x-error", "for_": "x"},
        {"value": '"><script>alert(1)</script>', "title": "Peña & Niño's <b>", "required": True},
        {"value": 0, "size": 10, "placeholder": None, "maxlength": False},
    ],
)
def test_the_attribute_writer_writes_what_wtforms_writes(attributes):
    import wtforms.widgets.core

    from msc.forms import html_params, wtforms_html_params

    assert html_params(**attributes) == wtforms_html_params(**attributes)
    assert type(html_params(**attributes)) is type(wtforms_html_params(**attributes))
    # and it is the one WTForms' widgets and labels write with
    assert wtforms.widgets.core.html_params is html_params is wtforms.widgets.html_params


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("es", "No es un valor entero válido."),
        ("pt_BR", "O valor inteiro não é válido."),
        ("en", "Not a valid integer value."),
    ],
)
def test_wtforms_own_messages_come_in_the_users_language_read_once(app, lang, message):
    """WTForms' built-in messages follow the language, and its catalogue is read once per language and process,
    not in every request that builds a form."""
    from wtforms import IntegerField

    from msc.forms import _wtforms_catalogue

    class AgeForm(FlaskForm):
        age = IntegerField("Age")

    app.config["WTF_CSRF_ENABLED"] = False
    for _ in range(2):
        with app.test_request_context(method="POST", data={"age": "abc"}, headers={"Accept-Language": lang}):
            form = AgeForm()
            assert not form.validate_on_submit()
            assert form.age.errors == [message]
    loaded = _wtforms_catalogue.cache_info()
    with app.test_request_context(method="POST", data={"age": "x"}, headers={"Accept-Language": lang}):
        AgeForm().validate_on_submit()
    assert _wtforms_catalogue.cache_info().misses == loaded.misses  # the third request read nothing from disk
