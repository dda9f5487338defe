"""Merge fields: written once in the newsletter, filled per variant and per reader, never re-rendered."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from actionmail import check
from actionmail.cli import main
from actionmail.merge import Merge, fill_variant, unknown_fields
from actionmail.render import render
from tests.conftest import SEED, write


def test_fill_uses_value_or_fallback_and_escapes_html() -> None:
    merge = Merge.parse("<p>Hi {first_name|friend}, {last_name}!</p>", escape=True)
    assert merge.fill({"first_name": "Ana <3", "last_name": "Pérez"}) == "<p>Hi Ana &lt;3, Pérez!</p>"
    assert merge.fill({"first_name": "", "last_name": None}) == "<p>Hi friend, !</p>"
    assert Merge.parse("Hi {first_name|friend}", escape=False).fill({"first_name": "Ana <3"}) == "Hi Ana <3"
    assert merge.names == {"first_name", "last_name"}


def test_css_and_caller_placeholders_are_not_merge_fields() -> None:
    text = ".x { color: red; } .y {color:red} Hi, my name is {NAME} [YOUR NAME] {YOUR_ZIP}"
    assert Merge.parse(text, escape=True).fields == ()
    assert unknown_fields(text) == []


def test_variant_fields_are_filled_at_render_and_reader_fields_are_kept() -> None:
    text = "District {district|unknown}, {first_name|friend}"
    assert fill_variant(text, {"district": "3"}, escape=False) == "District 3, {first_name|friend}"
    assert fill_variant(text, {"district": None}, escape=False) == "District unknown, {first_name|friend}"


def test_unknown_merge_fields_get_a_suggestion() -> None:
    assert unknown_fields("Hi {frist_name|friend}, {field.team} {zip}") == [
        ("frist_name", "did you mean {first_name}? (a fallback follows a bar: {first_name|friend})")
    ]


def test_newsletter_with_merge_fields_renders_once_and_fills_per_reader(project: Path) -> None:
    text = SEED.read_text().replace(
        "subject: No police partnerships on facial recognition in Seattle",
        'subject: "{first_name|Friend}, call about Ring"\ngreeting: Hi {first_name|friend} in District {district|Seattle},',
    )
    path = write(project / "newsletters", SEED.name, text)
    project_, newsletter = check.load(path)
    rendered = render(newsletter, project_, district="3", slug="x")
    assert rendered.merge_fields == {"first_name", "unsubscribe_url"}
    ana = rendered.personalize({"first_name": "Ana", "unsubscribe_url": "https://example.org/u/1.abc"})
    nobody = rendered.personalize({})
    assert (ana.subject, nobody.subject) == ("Ana, call about Ring", "Friend, call about Ring")
    assert ">Hi Ana in District 3,</p>" in ana.html and "Hi friend in District 3," in nobody.text
    assert 'href="https://example.org/u/1.abc"' in ana.html
    assert "{" + "first_name" not in ana.html + ana.text


def test_a_misspelt_merge_field_is_an_error_with_its_line(project: Path) -> None:
    text = SEED.read_text().replace("preheader: Call Mayor", 'preheader: "{frist_name}, call Mayor')
    text = text.replace("then vote by Tuesday.", 'then vote by Tuesday."')
    write(project / "newsletters", SEED.name, text)
    result = CliRunner().invoke(main, ["check", "newsletters", "--as-of", "2019-08-01"])
    assert result.exit_code == 2
    assert result.output.splitlines()[0] == (
        f"newsletters/{SEED.name}:15: preheader: unknown merge field {{frist_name}}: did you mean {{first_name}}? "
        "(a fallback follows a bar: {first_name|friend})"
    )
