"""Alerts as they are written (issue 13): parts in another language, labels in two languages, "if this applies
to you, do this instead", call-in days and date ranges counted from the day the email goes out, the dateline and
the ask at the top, and the smaller notes — in the model, both parts of the email, and `check`."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import lxml.html
import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner

from actionmail import check, variants
from actionmail.cli import main
from actionmail.render import Rendered, render
from actionmail.render.templates import BILINGUAL_LABELS, builtin_templates
from tests.conftest import write

# Line numbers in the expected messages are counted in this text.
DAY = """\
date: 2019-08-01
subject: Call the council about Ring
preheader: Ask the council to ban police partnerships with Ring.
headline: No police partnerships on facial recognition
actions:
  - kind: call
    title: Call your councilmember
    why: |
      The vote is on Monday.

      {lang=es}
      La votación es el lunes.
    targets:
      - group: district-councilmember
    script:
      - text: "Hi, my name is [YOUR NAME]. Please vote no."
        intro: Feel free to make it your own.
        voicemail: "Hi, this is [YOUR NAME]. Please vote no."
        voicemail_note: Leave your street address.
      - language: es
        text: "Hola, me llamo [SU NOMBRE]. Por favor, vote no."
    window: {start: 2019-08-05, end: 2019-08-09, name: the week of the vote}
    alternatives:
      - when: If your councilmember already said no
        districts: [3, 5]
        why: Thank them, and ask them to speak up at the vote.
        targets:
          - official: durkan
      - when: If you already called
        why: Ask three friends to call.
"""


def plain(text: str) -> str:
    """Babel writes a date range with thin spaces around the dash ("August 5 – 9"): as plain spaces."""
    return text.replace("\u2009", " ").replace("\u202f", " ")


def check_cli(project: Path, text: str, *more: str) -> tuple[int, list[str]]:
    write(project / "newsletters", "day.yaml", text)
    result = CliRunner().invoke(main, ["check", "newsletters/day.yaml", "--as-of", "2019-08-01", *more])
    lines = result.output.splitlines()
    return result.exit_code, lines[:-1] if lines and "checked" in lines[-1] else lines


def rendered(project: Path, text: str, district: str | None = None, today: dt.date | None = None) -> Rendered:
    path = write(project / "newsletters", "day.yaml", text)
    proj, newsletter = check.load(path)
    return render(newsletter, proj, district=district, slug="day", today=today)


def test_the_day_passes_check(project: Path) -> None:
    assert check_cli(project, DAY) == (0, [])


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "      - language: es\n",
            "      - language: spanish!\n",
            "newsletters/day.yaml:20: actions[0].script[1].language: 'spanish!' is not a language code: write a code "
            "such as es, en, vi or zh-Hant",
            id="language-code",
        ),
        pytest.param(
            '        voicemail: "Hi, this is [YOUR NAME]. Please vote no."\n',
            "",
            "newsletters/day.yaml:16: actions[0].script[0]: 'voicemail_note' is shown with the voicemail text, and "
            "this script has none: add 'voicemail:' (what to say), or put the note in 'intro'",
            id="voicemail-note-alone",
        ),
        pytest.param(
            "end: 2019-08-09",
            "end: 2019-08-04",
            "newsletters/day.yaml:22: actions[0].window: the window ends before it starts: check 'start' and 'end'",
            id="window-order",
        ),
        pytest.param(
            "districts: [3, 5]",
            "districts: [3, 15]",
            "newsletters/day.yaml:25: actions[0].alternatives[0].districts: '15' is not a district in officials.yaml: "
            "use one of: 1, 2, 3, 4, 5, 6, 7",
            id="unknown-district",
        ),
        pytest.param(
            "        why: Ask three friends to call.\n",
            "",
            "newsletters/day.yaml:29: actions[0].alternatives[1]: this alternative says nothing to do: add 'why:', "
            "'targets:' or 'script:'",
            id="empty-alternative",
        ),
        pytest.param(
            "headline: No police",
            "language: en\nbilingual: en\nheadline: No police",
            "newsletters/day.yaml:5: bilingual: 'en' is the email's own language ('language: en'): name the other "
            "language, or remove 'bilingual'",
            id="bilingual-same-language",
        ),
        pytest.param(
            "    window: {start",
            "    article: {outlet: The Stranger}\n    window: {start",
            "newsletters/day.yaml:6: actions[0]: 'article' belongs to a 'read' or 'share' action: set 'kind: read', or "
            "move it",
            id="article-kind",
        ),
    ],
)
def test_bad_input(project: Path, old: str, new: str, expected: str) -> None:
    assert old in DAY
    assert check_cli(project, DAY.replace(old, new, 1)) == (2, [expected])


def test_parts_in_another_language_carry_lang_and_dir(project: Path) -> None:
    html = lxml.html.fromstring(rendered(project, DAY).html)
    marked = {(el.tag, el.text_content().split(".")[0].strip()) for el in html.iter() if el.get("lang") == "es"}
    assert ("p", "La votación es el lunes") in marked  # the {lang=es} paragraph
    assert all(el.get("dir") == "ltr" for el in html.iter() if el.get("lang") == "es")
    script = next(el for el in html.iter("div") if el.get("lang") == "es")
    assert "Hola, me llamo" in script.text_content()
    assert "Hi, my name is" not in script.text_content()  # the English script is not marked Spanish


def test_an_actions_buttons_are_in_its_language(project: Path) -> None:
    """An action marked `language: es`: its button, its report-back and its survey answers, which the organizer
    wrote in Spanish, carry lang and dir, in the link every client shows and in Outlook's VML shape."""
    spanish = (
        "  - kind: survey\n    language: es\n    title: Encuesta\n"
        "    survey:\n      prompt: ¿Llamó?\n      choices:\n        - {label: Sí, value: si}\n"
        "  - kind: read\n    language: es\n    title: Lea\n"
        "    link: {text: Lea el artículo, url: 'https://example.org/a'}\n"
        "    report_back: {text: Lo leí, url: 'https://example.org/r'}\n"
    )
    html = rendered(project, DAY + "bonus:\n" + spanish).html
    for text in ("Lea el artículo", "Lo leí", "Sí"):
        assert re.search(rf'<a [^>]*lang="es" dir="ltr"[^>]*>{text}</a>', html), text
        assert re.search(rf'<center lang="es" dir="ltr"[^>]*>{text}</center>', html), text


def test_a_right_to_left_part_is_marked_rtl(project: Path) -> None:
    html = lxml.html.fromstring(rendered(project, DAY.replace("{lang=es}", "{lang=ar}")).html)
    assert [el.get("dir") for el in html.iter() if el.get("lang") == "ar"] == ["rtl"]


def test_the_text_part_has_no_language_marks(project: Path) -> None:
    text = rendered(project, DAY).text
    assert "La votación es el lunes." in text
    assert "{lang" not in text


def test_a_bilingual_email_gives_its_labels_in_both_languages(project: Path) -> None:
    one = rendered(project, DAY)
    both = rendered(project, DAY.replace("headline:", "bilingual: es\nheadline:"))
    html = lxml.html.fromstring(both.html)
    headings = [" ".join(h.text_content().split()) for h in html.iter("h2", "h3")]
    assert "Who to call / A quién llamar" in headings
    assert "Who to call" in [" ".join(h.text_content().split()) for h in lxml.html.fromstring(one.html).iter("h3")]
    second = [el for el in html.iter("span") if el.get("lang") == "es"]
    assert "A quién llamar" in [el.text_content() for el in second]
    assert "Who to call / A quién llamar:" in both.text
    assert "Sample script / Guion sugerido:" in both.text


def test_raw_html_stays_escaped(project: Path) -> None:
    result = rendered(project, DAY.replace("{lang=es}\n      La", '<p lang="es">La'))
    assert '&lt;p lang="es"&gt;' in result.html or "&lt;p lang=&quot;es&quot;&gt;" in result.html


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "      {lang=es}\n      La votación es el lunes.",
            '      <p lang="es">La votación es el lunes.</p>',
            "newsletters/day.yaml:11: actions[0].why: '<p lang=\"es\">' is HTML, which the email shows as text, tags "
            "and all: remove the tags, and write {lang=es} on a line of its own before the paragraph, or "
            "'language: es' on the whole action",
            id="raw-p-in-markdown",
        ),
        pytest.param(
            '"Hola, me llamo [SU NOMBRE]. Por favor, vote no."',
            '"<span lang=es>Hola</span>, me llamo [SU NOMBRE]."',
            "newsletters/day.yaml:21: actions[0].script[1].text: '<span lang=es>' is HTML, which the email shows as "
            "text, tags and all: remove the tags, and add 'language: es' to the script this text is in",
            id="raw-span-in-script",
        ),
        pytest.param(
            "      {lang=es}\n      La votación",
            "      Y en español: {lang=es} La votación",
            "newsletters/day.yaml:11: actions[0].why: '{lang=es}' would be shown as text: a language mark goes on a "
            "line of its own, before a paragraph of Markdown: take it out of the sentence, and write {lang=es} on a "
            "line of its own before the paragraph, or 'language: es' on the whole action",
            id="mark-mid-paragraph",
        ),
        pytest.param(
            "      {lang=es}\n      La votación",
            "      {lang=<b onclick=x>}\n      La votación",
            "newsletters/day.yaml:11: actions[0].why: '{lang=<b onclick=x>}' would be shown as text: a language mark "
            "goes on a line of its own, before a paragraph of Markdown: take it out of the sentence, and write "
            "{lang=es} on a line of its own before the paragraph, or 'language: es' on the whole action",
            id="hostile-mark",
        ),
        pytest.param(
            "        intro: Feel free to make it your own.",
            "        intro: '{lang=es} Siéntase libre.'",
            "newsletters/day.yaml:17: actions[0].script[0].intro: '{lang=es}' would be shown as text: a language mark "
            "goes on a line of its own, before a paragraph of Markdown: take it out of the sentence, and add "
            "'language: es' to the script this text is in",
            id="mark-outside-markdown",
        ),
    ],
)
def test_check_says_how_to_mark_a_language(project: Path, old: str, new: str, expected: str) -> None:
    assert old in DAY
    code, lines = check_cli(project, DAY.replace(old, new, 1))
    assert (code, lines) == (2, [expected])


def test_an_alternative_for_some_districts(project: Path) -> None:
    # District 3's councilmember already said no: those readers see the alternative instead of the ask.
    there = rendered(project, DAY, district="3")
    assert "Mayor" in there.text and "If your councilmember already said no:" in there.text
    assert "Kshama Sawant" not in there.text  # the action's own target, which is not their ask
    assert "Please vote no." not in there.text
    # District 1 is not concerned: the ask, and no alternative.
    elsewhere = rendered(project, DAY, district="1")
    assert "If your councilmember already said no" not in elsewhere.text
    assert "Lisa Herbold" in elsewhere.text and "Please vote no." in elsewhere.text
    # Unknown district: both, the alternative under its label.
    unknown = rendered(project, DAY)
    assert "If your councilmember already said no:" in unknown.text and "Please vote no." in unknown.text
    for result in (there, elsewhere, unknown):  # the one without districts is for everyone
        assert "If you already called:" in result.text
    headings = [" ".join(h.text_content().split()) for h in lxml.html.fromstring(there.html).iter("h3")]
    assert "If your councilmember already said no:" in headings


def test_a_district_alternative_makes_variants(project: Path) -> None:
    proj, newsletter = check.load(write(project / "newsletters", "day.yaml", DAY))
    without = newsletter.model_copy(update={"actions": [newsletter.actions[0].model_copy(update={"targets": []})]})
    assert variants.uses_district(without, proj)  # the alternative's districts alone


def test_relative_phrases_are_counted_from_the_day_it_goes_out(project: Path) -> None:
    text = DAY.replace("    window:", "    deadline: 2019-08-09\n    window:")
    written = rendered(project, text)
    written_text = plain(written.text)
    assert "Thursday, August 1, 2019" in written_text  # the dateline
    assert "August 5 – 9 (starts in 4 days)" in written_text
    assert "Deadline: Friday, August 9 (in 8 days)" in written_text
    later = rendered(project, text, today=dt.date(2019, 8, 6))
    for part in (plain(later.text), plain(lxml.html.fromstring(later.html).text_content())):
        assert "Tuesday, August 6, 2019" in part
        assert "Thursday, August 1" not in part
        assert "August 5 – 9 (ends in 3 days)" in part
        assert "Deadline: Friday, August 9 (in 3 days)" in part
        assert "in 8 days" not in part and "starts in" not in part


def test_a_call_in_day(project: Path) -> None:
    text = DAY.replace("{start: 2019-08-05, end: 2019-08-09, name: the week of the vote}", "2019-08-05")
    assert "Call-in day: Monday, August 5 (in 4 days)" in rendered(project, text).text
    on_the_day = rendered(project, text, today=dt.date(2019, 8, 5))
    assert "Call-in day: Monday, August 5 (today only)" in on_the_day.text
    spanish = rendered(project, text.replace("headline:", "language: es\nheadline:"), today=dt.date(2019, 8, 5))
    assert "Día de llamadas: lunes 5 de agosto (solo hoy)" in spanish.text
    past = rendered(project, text, today=dt.date(2019, 8, 7))
    assert "Call-in day: Monday, August 5\n" in past.text


def test_the_ask_comes_first(project: Path) -> None:
    result = rendered(
        project, DAY.replace("headline:", "ask: Call your councilmember before Monday's vote.\nheadline:")
    )
    text = result.text
    assert text.index("Today's Action: Call your councilmember before Monday's vote.") < text.index("The vote is")
    html = lxml.html.fromstring(result.html).text_content()
    assert html.index("Call your councilmember before Monday") < html.index("The vote is on Monday")
    # Left out: the first action's title, before the background; with no background, the action is next anyway.
    fallback = rendered(project, DAY.replace("headline:", "background: Ring sells cameras.\nheadline:")).text
    assert fallback.index("Today's Action: Call your councilmember") < fallback.index("Ring sells cameras.")
    assert rendered(project, DAY).text.count("Today's Action: Call your councilmember") == 1


def test_the_smaller_notes(project: Path) -> None:
    text = DAY.replace("headline:", "byline: Ana Pérez\nheadline:") + (
        "  - kind: read\n"
        "    title: Read the investigation\n"
        "    article: {outlet: Motherboard, authors: [Caroline Haskins], published: 2019-07-29}\n"
        "    link: {text: Read it, url: 'https://example.org/ring'}\n"
        "    targets:\n"
        "      - lookup: {text: Find your district, url: 'https://example.org/find'}\n"
        "        label: your councilmember\n"
        "        note: Use the district office number.\n"
        "footnotes:\n"
        "  - updated: 2019-07-31\n"
        "    content: The vote was moved to Monday.\n"
        "  - content: Photos by the author.\n"
    ).replace("  - kind: read", "bonus:\n  - kind: read")
    result = rendered(project, text)
    for part in (result.text, " ".join(lxml.html.fromstring(result.html).text_content().split())):
        assert "By Ana Pérez" in part
        assert "Motherboard, by Caroline Haskins, Monday, July 29, 2019" in part
        assert "Use the district office number." in part
        assert "Feel free to make it your own." in part
        assert "Leave your street address." in part
        assert "Update, Jul 31:" in part and "The vote was moved to Monday." in part
    assert "UPDATES AND NOTES" in result.text


def test_districts_need_a_per_district_group(project: Path) -> None:
    officials = project / "officials.yaml"
    assert "per_district: true" in officials.read_text()
    text = officials.read_text().replace("per_district: true", "per_district: false")
    officials.write_text(re.sub(r"\n *set: \w+", "", text))  # a set is only for a per-district group
    assert check_cli(project, DAY) == (
        2,
        [
            "newsletters/day.yaml:25: actions[0].alternatives[0].districts: officials.yaml has no per-district group, "
            "so no reader's district is known: remove 'districts:' (the alternative is then shown to everyone, under "
            "its label)"
        ],
    )


def test_a_bilingual_email_with_nothing_marked_is_warned_about(project: Path) -> None:
    bilingual = DAY.replace("headline:", "bilingual: es\nheadline:")
    assert check_cli(project, bilingual) == (0, [])  # a paragraph and a script are marked es
    unmarked = bilingual.replace("      {lang=es}\n", "").replace("      - language: es\n        text", "      - text")
    assert check_cli(project, unmarked) == (
        0,
        [
            "newsletters/day.yaml:4: bilingual: warning: nothing in this email is marked as written in 'es': its "
            "labels are shown in both languages, but screen readers would read your own text in it with the sounds "
            "of the email's language: mark each part written in it: {lang=es} on a line of its own before a "
            "paragraph, or 'language: es' on a script or an action"
        ],
    )


def test_a_window_past_on_the_send_day_is_warned_about(project: Path) -> None:
    write(project / "newsletters", "day.yaml", DAY)
    result = CliRunner().invoke(main, ["check", "newsletters/day.yaml", "--no-spam", "--as-of", "2019-08-10"])
    assert result.output.splitlines()[0] == (
        "newsletters/day.yaml:1: date: warning: the newsletter's date, 2019-08-01, is before the day it goes out: "
        "the last day of 'Call your councilmember' (2019-08-09) will have passed, and readers can't act on it: set "
        "'date:' to the day it goes out, and check it again"
    )


def test_a_mark_at_the_start_of_the_ps_is_in_mid_paragraph(project: Path) -> None:
    # The email writes "P.S." before the ps's first paragraph: a mark there can't be placed; before a later one, it can.
    first = DAY + "ps: |\n  {lang=es}\n  Gracias.\n"
    assert check_cli(project, first)[1] == [
        "newsletters/day.yaml:32: ps: '{lang=es}' would be shown as text: a language mark goes on a line of its own, "
        "before a paragraph of Markdown: take it out of the sentence, and write {lang=es} on a line of its own before "
        "the paragraph"
    ]
    assert "{lang" in rendered(project, first).text
    later = DAY + "ps: |\n  Thank you.\n\n  {lang=es}\n  Gracias.\n"
    assert check_cli(project, later) == (0, [])
    assert "{lang" not in rendered(project, later).text


def test_every_bilingual_label_and_new_message_has_its_spanish() -> None:
    with (builtin_templates() / "locale" / "es.po").open("rb") as f:
        catalog = read_po(f, locale="es")
    ours = {"By %(name)s", "by %(names)s", "today only", "starts %(when)s", "ends %(when)s", "Update, %(day)s:"}
    missing = sorted(m for m in BILINGUAL_LABELS | ours if not (catalog.get(m) and catalog.get(m).string))
    assert missing == []


def test_a_call_in_day_before_the_newsletter_is_refused(project: Path) -> None:
    text = DAY.replace("{start: 2019-08-05, end: 2019-08-09, name: the week of the vote}", "2019-07-31")
    assert check_cli(project, text) == (
        2,
        [
            "newsletters/day.yaml:22: actions[0].window: the call-in day 2019-07-31 is before the newsletter's date "
            "(2019-08-01): correct the date, or drop this item if it has passed"
        ],
    )
    begun = DAY.replace("start: 2019-08-05", "start: 2019-07-29")  # a range under way is fine
    assert check_cli(project, begun) == (0, [])
