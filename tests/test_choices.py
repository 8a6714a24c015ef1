"""What a post form's selects and radio groups offer (option ``validate_choices``)."""

from __future__ import annotations

import pytest

from postback_middleware.choices import Choices

from .helpers import injector, streamed

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
