"""What a post form's selects and radio groups offer (option ``validate_choices``)."""

from __future__ import annotations

import logging

import pytest
import webtest

from postback_middleware import PostbackMiddleware
from postback_middleware.choices import MAX_OTHERS_SIZE, Choices

from .helpers import RecordingApp, hidden_fields, injector, new_key, streamed, streamed_by

# Every test here runs once per scanner engine (python, compiled).
pytestmark = pytest.mark.usefixtures("scanner_engine")


def _choices(inside: str, *, before: str = "", after: str = "") -> list[dict[str, list[str]]]:
    editor = injector(choices=True)
    editor.edit(f'{before}<form method="post">{inside}</form>{after}'.encode())
    return [form.choices for form in editor.forms]


@pytest.mark.parametrize(
    ("inside", "expected"),
    [
        pytest.param('<select name="Status"><option value="open">Open</option>'
                     '<option selected value="closed">Closed</option></select>',
                     {"Status": ["open", "closed"]}, id="dropdownlist"),
        pytest.param("<select name=s><option> Late \n  fee </option><option>a&amp;b<option>"
                     "</select>", {"s": ["Late fee", "a&b", ""]}, id="option-text-as-its-value"),
        pytest.param("<select name=s><option>x < y</option></select>", {"s": ["x < y"]},
                     id="option-text-with-a-lone-less-than"),
        pytest.param("<select name=s multiple><optgroup label=g><option value=1>"
                     "<option value=2></optgroup></select>", {"s": ["1", "2"]},
                     id="listbox-with-groups"),
        pytest.param('<input type="radio" name="Size" value="S"><input type=RADIO name=Size '
                     'value=M><input type=radio name=Size>', {"Size": ["S", "M", "on"]},
                     id="radio-group"),
        pytest.param("<select name=s><option value=1></select><input type=hidden name=s value=2>"
                     "<button name=s value=3>", {"s": ["1", "2", "3"]},
                     id="other-controls-add-what-they-post"),
        pytest.param("<select name=s><option value=1></select><input name=s>", {},
                     id="a-text-input-of-the-name-leaves-it-unchecked"),
        pytest.param("<input type=radio name=r value=1><textarea name=r></textarea>", {},
                     id="a-textarea-leaves-it-unchecked"),
        pytest.param("<input type=radio name=r value=1><input type=submit name=r>", {},
                     id="a-submit-input-without-value-posts-its-label"),
        pytest.param("<input type=checkbox name=c><input type=hidden name=h value=1>"
                     "<input name=t>", {}, id="no-select-no-radio-nothing-checked"),
        pytest.param("<select name=s form=other><option value=1></select>", {},
                     id="a-control-of-another-form"),
        pytest.param("<input list=l name=q><datalist id=l><option value=x></datalist>", {},
                     id="datalist-suggestions"),
        pytest.param("<select name=s><option value=1><input name=t><option value=2>", {"s": ["1"]},
                     id="an-input-ends-the-select"),
        pytest.param("<select><option value=1></select>", {}, id="a-select-without-a-name"),
    ],
)
def test_what_a_form_offers(inside: str, expected: dict[str, list[str]]) -> None:
    assert _choices(inside) == [expected]


def test_controls_outside_post_forms_offer_nothing() -> None:
    assert _choices("", before="<select name=a><option value=1></select>",
                    after="<form><input type=radio name=b value=2></form>") == [{}]


def test_each_form_its_own() -> None:
    editor = injector(choices=True)
    editor.edit(b'<form method="post"><select name=s><option value=1></select></form>'
                b'<form method="post"><select name=s><option value=2></select></form>')
    assert [form.choices for form in editor.forms] == [{"s": ["1"]}, {"s": ["2"]}]


def test_off_by_default() -> None:
    editor = injector()
    editor.edit(b'<form method="post"><select name=s><option value=1></select></form>')
    assert editor.forms[0].choices == {}


def test_an_option_text_cut_by_a_piece_leaves_its_select_unchecked() -> None:
    document = b'<form method="post"><select name=s><option>Long text</option></select></form>'
    cut = document.index(b"text")
    editor = injector(choices=True)
    editor.feed(document[:cut])
    editor.feed(document[cut:])
    editor.finish()
    assert editor.forms[0].choices == {}
    # (whole, or cut elsewhere, it is read)
    assert streamed(document, [10]) == injector(choices=True).edit(document)


@pytest.mark.parametrize(
    ("calls", "expected"),
    [
        pytest.param([("option", "s", "1"), ("option", "s", "1")], {"s": ["1"]},
                     id="each-value-once"),
        pytest.param([("input", "r", "radio", None), ("input", "r", "checkbox", "x")],
                     {"r": ["on", "x"]}, id="radio-default-on"),
        pytest.param([("input", "h", "hidden", None), ("option", "h", "1")], {"h": ["", "1"]},
                     id="hidden-without-value-posts-empty"),
        pytest.param([("option", "s", "1"), ("input", "s", "image", None),
                      ("input", "s", "reset", None)], {"s": ["1"]},
                     id="controls-that-post-nothing-under-the-name"),
        pytest.param([("option", "s", "1"), ("input", "s", "date", None)], {},
                     id="typed-values-uncheck"),
        pytest.param([("option", "s", "1"), ("unknown", "s")], {}, id="unknown-unchecks"),
    ],
)
def test_choices_table(calls: list[tuple[str, ...]], expected: dict[str, list[str]]) -> None:
    choices = Choices()
    for call, *args in calls:
        getattr(choices, call)(*args)
    assert choices.pairs == expected


@pytest.mark.parametrize(
    ("inside", "expected"),
    [
        pytest.param("<select name=p><option value=free><option disabled value=premium>"
                     "</select>", {"p": ["free"]}, id="disabled-option"),
        pytest.param("<select name=p disabled><option value=free></select>", {"p": []},
                     id="disabled-select-posts-nothing"),
        pytest.param("<input type=radio name=r value=a><input type=radio name=r value=b "
                     "disabled>", {"r": ["a"]}, id="disabled-radio"),
        pytest.param("<input type=radio name=r value=b disabled>", {"r": []},
                     id="a-group-of-disabled-radios-is-checked"),
        pytest.param("<select name=p></select>", {"p": []}, id="an-empty-select"),
    ],
)
def test_what_the_browser_never_posts_is_not_offered(inside: str,
                                                     expected: dict[str, list[str]]) -> None:
    assert _choices(inside) == [expected]


# -- the names other forms check, on pages of many forms (red team, complexity) ---------------

def _select_forms(count: int, name: str = "s%d") -> bytes:
    """``count`` post forms of one select each, named ``name % i`` (the repro's shape B)."""
    return b"".join(b'<form method="post" action="a"><select name="%s"><option>a<option>b'
                    b"</select></form>" % (name % i).encode() for i in range(count))


def _strict(page: bytes) -> tuple[webtest.TestApp, bytes]:
    app = webtest.TestApp(PostbackMiddleware(RecordingApp(page=page.decode()),
                                             secret_keys=[new_key()], validate_choices=True))
    return app, app.get("/a").body


_PLAIN_AND_SELECT = (b'<form method="post" action="a"><input name="q"></form>'
                     b'<form method="post" action="a"><select name="role"><option>user'
                     b'</select><input name="q"></form>')
_OWN_FREE_NAME = (b'<form method="post" action="a"><input name="s1"></form>' + _select_forms(2))


@pytest.mark.parametrize(
    ("page", "form", "posted", "status"),
    [
        pytest.param(_select_forms(3), 0, [("s0", "a")], 200, id="own-select-offered"),
        pytest.param(_select_forms(3), 2, [("s2", "b")], 200, id="last-form-own-select"),
        pytest.param(_select_forms(3), 0, [("s0", "zzz")], 403, id="own-select-not-offered"),
        pytest.param(_select_forms(3), 0, [("s1", "a")], 403, id="a-later-forms-select"),
        pytest.param(_select_forms(3), 2, [("s0", "a")], 403, id="an-earlier-forms-select"),
        pytest.param(_select_forms(3), 1, [("q", "x")], 200, id="a-name-no-form-checks"),
        pytest.param(_PLAIN_AND_SELECT, 0, [("role", "admin")], 403, id="plain-form-select"),
        pytest.param(_PLAIN_AND_SELECT, 0, [("q", "ada")], 200, id="plain-form-own-field"),
        pytest.param(_PLAIN_AND_SELECT, 1, [("role", "user")], 200, id="select-form-offered"),
        pytest.param(_OWN_FREE_NAME, 0, [("s1", "anything")], 200, id="own-text-input-of-it"),
        pytest.param(_OWN_FREE_NAME, 0, [("s0", "a")], 403, id="not-its-own-name"),
        pytest.param(_OWN_FREE_NAME, 1, [("s1", "a")], 403, id="free-elsewhere-not-here"),
    ],
)
def test_which_postbacks_are_refused_on_small_pages(page: bytes, form: int,
                                                    posted: list[tuple[str, str]],
                                                    status: int) -> None:
    """What the page-level names keep: the same postbacks refused as when each form gathered
    every other form's names (this table passes before and after the change)."""
    app, body = _strict(page)
    app.post("/a", [*hidden_fields(body, form).items(), *posted], status=status)


@pytest.mark.parametrize(
    ("document", "cut", "expected"),
    [
        pytest.param(_select_forms(3), None,
                     [{"s0": ["a", "b"], "s1": [], "s2": []}, {"s1": ["a", "b"], "s0": [],
                      "s2": []}, {"s2": ["a", "b"], "s0": [], "s1": []}], id="whole"),
        pytest.param(_select_forms(3), b"<form", [{"s0": ["a", "b"]}, {"s1": ["a", "b"], "s0": []},
                     {"s2": ["a", "b"], "s0": [], "s1": []}], id="streamed-knows-forms-before"),
        pytest.param(_OWN_FREE_NAME, None, [{"s0": []}, {"s0": ["a", "b"], "s1": []},
                                            {"s1": ["a", "b"], "s0": []}], id="own-names-apart"),
    ],
)
def test_what_each_form_checks_of_the_others(document: bytes, cut: bytes | None,
                                             expected: list[dict[str, list[str]]]) -> None:
    editor = injector(choices=True)
    if cut is None:
        editor.edit(document)
    else:  # (each form in a piece of its own)
        streamed_by(editor, document, [i for i in range(1, len(document))
                                       if document.startswith(cut, i)])
    assert [form.choices for form in editor.forms] == expected


def _fields_size(body: bytes, form: int) -> int:
    fields = hidden_fields(body, form)
    return len(fields.get("__VIEWSTATE", "")) + len(fields.get("__EVENTVALIDATION", ""))


@pytest.mark.parametrize("count", [30, 60, 120, 240])
def test_each_forms_tokens_are_bounded_whatever_the_forms(count: int) -> None:
    """(red team) Each form listed every other form's select: n forms wrote n**2 names. A
    form's tokens now hold at most MAX_OTHERS_SIZE of them (written as base64: 4/3)."""
    name = "s%d-" + "x" * 60
    _, one = _strict(_select_forms(1, name))
    _, body = _strict(_select_forms(count, name))
    bound = 2 * _fields_size(one, 0) + MAX_OTHERS_SIZE * 4 // 3
    assert max(_fields_size(body, form) for form in range(count)) <= bound


def test_a_form_whose_list_would_not_fit_gets_no_tokens(caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    """Fail closed: past MAX_OTHERS_SIZE a form gets no tokens (its postbacks refused, with a
    warning), never tokens that leave the other forms' names unchecked."""
    count = MAX_OTHERS_SIZE // 8 + 2  # (each name costs more than 8)
    with caplog.at_level(logging.WARNING, logger="postback_middleware"):
        app, body = _strict(_select_forms(count))
    fields = hidden_fields(body, 0)
    assert "__EVENTVALIDATION" not in fields
    assert "more than its token holds" in caplog.text
    app.post("/a", [*fields.items(), ("s0", "a")], status=403)


class _Name(str):
    """A control's name that counts how often a set or dict looks it up."""

    hashes = 0

    def __hash__(self) -> int:
        _Name.hashes += 1
        return str.__hash__(self)


@pytest.mark.parametrize(("count", "name"), [(400, "s%d"), (200, "s%d-" + "x" * 100)])
def test_the_work_a_form_is_bounded(monkeypatch: pytest.MonkeyPatch, count: int,
                                    name: str) -> None:
    """(red team) Each form gathered the names of every other form, and looked up each of
    them: n**2 look-ups (and n**3 time) for n forms of a select each. Counted here by the
    names' own lookups: a few a form."""
    option_none = Choices.option_none

    def counted(self: Choices, select: str) -> None:
        option_none(self, _Name(select))

    monkeypatch.setattr(Choices, "option_none", counted)
    _Name.hashes = 0
    injector(choices=True).edit(_select_forms(count, name))
    assert _Name.hashes <= 20 * count
