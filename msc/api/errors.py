"""The API's errors: JSON with a stable code and a message in the caller's language; a refused body names
each field and why. Never a page, never a stack trace, never a value of the request."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from msc.api import PREFIX
from msc.api.schemas import CONTROL_CHARACTERS

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "possible_duplicates",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "server_error",
}

MESSAGES = {
    400: _l("The request could not be understood: send JSON as the API's document describes."),
    401: _l("Send a token: Authorization: Bearer <token>."),
    403: _l("This token's role does not allow this."),
    404: _l("Nothing here, or nothing within this token's reach."),
    405: _l("This address does not take that method."),
    409: _l("This person may already be registered: look at the records named before registering them."),
    413: _l("What you sent is too large."),
    415: _l("Send the body as JSON (Content-Type: application/json)."),
    422: _l("Check the fields named."),
    429: _l("Too many calls: wait a minute and try again."),
    500: _l("Something went wrong on our side. Nothing was saved; please try again."),
}

#: marshmallow's words for a refused field, in the caller's language (anything else: "not valid")
_FIELD_WORDS = {
    "Missing data for required field.": _l("This field is required."),
    "Unknown field.": _l("This field is not part of the request."),
    "Field may not be null.": _l("This field cannot be null."),
    "Not a valid string.": _l("Send text here."),
    "Not a valid integer.": _l("Send a whole number here."),
    "Not a valid boolean.": _l("Send true or false here."),
    "Invalid input type.": _l("Send a JSON object."),
    "Not a valid list.": _l("Send a list here."),
    "Not a valid date.": _l("Send a date as YYYY-MM-DD."),
    CONTROL_CHARACTERS: _l("Remove the invisible or control characters from this field."),
}


def is_api_request() -> bool:
    """Whether the request is a call to the API (its document and reference page are not)."""
    return request.blueprint == "api" or (request.blueprint is None and (request.path + "/").startswith(PREFIX + "/"))


def response(
    code: int,
    err: Any = None,
    *,
    message: str | None = None,
    fields: dict[str, list[str]] | None = None,
    extra: dict[str, Any] | None = None,
):
    """The JSON answer for an HTTP error of an API call: its own message (a refused token says why), the
    fields refused, named by webargs' refusal of the body (`err`) or by a rule (`fields`), and what else the
    error carries (`extra`: the possible duplicates of a 409)."""
    code = code if code in CODES else 400
    body: dict[str, Any] = {"code": CODES[code], "message": str(message or MESSAGES[code])}
    fields = fields or _refused_fields(err)
    if fields:
        body["fields"] = fields
    body.update(extra or {})
    res = jsonify({"error": body})
    res.status_code = code
    if code == 401:
        res.headers["WWW-Authenticate"] = 'Bearer realm="MSC Case"'
    return res


def refused(field: str, message: str):
    """A 422 naming the one field a rule of the registry refused (the rule's own words)."""
    return response(422, fields={field: [message]})


def control_characters() -> str:
    """The words for a text refused for what it hides, in the caller's language."""
    return str(_FIELD_WORDS[CONTROL_CHARACTERS])


def _refused_fields(err: Any) -> dict[str, list[str]]:
    """webargs' refusal of a body ({"json": {"page": ["Not a valid integer."]}}), in the caller's words."""
    messages = (getattr(err, "data", None) or {}).get("messages") or {}
    out: dict[str, list[str]] = {}
    for where in messages.values():
        if isinstance(where, dict):
            _flatten(where, "", out)
    return out


def _flatten(words: dict[Any, Any], prefix: str, out: dict[str, list[str]]) -> None:
    """A nested field's words under its dotted name: acknowledgement.method, lines.0.quantity."""
    for field, value in words.items():
        name = f"{prefix}{field}"
        if isinstance(value, dict):
            _flatten(value, name + ".", out)
        else:
            listed = value if isinstance(value, list) else [value]
            out[name] = [_word(w) for w in listed if not isinstance(w, dict)] or [_("This value is not valid.")]


def _word(text: Any) -> str:
    known = _FIELD_WORDS.get(str(text))
    if known is not None:
        return str(known)
    if str(text).startswith(("Longer than", "Shorter than", "Length must")):
        return _("The length of this value is out of range.")
    if str(text).startswith("Must be one of"):
        return _("Use one of the values the API's document lists.")
    if str(text).startswith("Must be"):
        return _("This value is out of range.")
    return _("This value is not valid.")
