"""What every rendered email must be, whatever the example: structure, accessibility, links, size."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from actionmail import check, tally
from actionmail.config import Project
from actionmail.errors import InvalidInput
from actionmail.newsletter import Newsletter
from actionmail.render import UNSUBSCRIBE_URL, Rendered, render, view
from actionmail.render.templates import countdown
from tests.conftest import EXAMPLES, SEED


class Page(HTMLParser):
    """The parts of an HTML email the assertions look at."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[tuple[int, str]] = []
        self.links: list[tuple[str, str]] = []
        self.title = ""
        self._open: list[str] = []
        self._text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("title", "a") or re.fullmatch(r"h[1-6]", tag):
            self._open.append(tag)
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1] == tag:
            self._open.pop()
            text = " ".join("".join(self._text).split())
            if tag == "title":
                self.title = text
            elif tag == "a":
                self.links.append((next(a.get("href") or "" for t, a in reversed(self.tags) if t == "a"), text))
            else:
                self.headings.append((int(tag[1]), text))

    def handle_data(self, data: str) -> None:
        if self._open:
            self._text.append(data)


def rendered(path: Path, district: str | None = None) -> tuple[Project, Newsletter, Rendered]:
    project, newsletter = check.load(path)
    return project, newsletter, render(newsletter, project, district=district, slug=check.slug(path))


@pytest.fixture(params=EXAMPLES, ids=[p.stem for p in EXAMPLES])
def example(request: pytest.FixtureRequest) -> tuple[Project, Newsletter, Rendered]:
    return rendered(request.param)


def test_title_is_subject_and_one_h1(example: tuple[Project, Newsletter, Rendered]) -> None:
    _, newsletter, result = example
    page = Page(result.html)
    assert page.title == newsletter.subject
    assert [text for level, text in page.headings if level == 1] == [newsletter.headline]


def test_headings_never_skip_a_level(example: tuple[Project, Newsletter, Rendered]) -> None:
    levels = [level for level, _ in Page(example[2].html).headings]
    assert levels[0] == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels


def test_language_direction_and_color_scheme(example: tuple[Project, Newsletter, Rendered]) -> None:
    _, _, result = example
    page = Page(result.html)
    html_tag = next(a for t, a in page.tags if t == "html")
    assert (html_tag["lang"], html_tag["dir"]) == (result.language, "ltr")
    # Webmail drops <html>; the wrapper inside <body> carries lang and dir again.
    assert any(t == "div" and a.get("lang") == result.language and a.get("dir") == "ltr" for t, a in page.tags)
    assert ("meta", {"name": "color-scheme", "content": "light dark"}) in page.tags


def test_layout_tables_are_presentation_and_images_have_alt(
    example: tuple[Project, Newsletter, Rendered],
) -> None:
    page = Page(example[2].html)
    tables = [a for t, a in page.tags if t == "table"]
    assert tables and all(a.get("role") == "presentation" for a in tables)
    assert all("alt" in a for t, a in page.tags if t == "img")


def test_links_are_absolute_and_descriptive(example: tuple[Project, Newsletter, Rendered]) -> None:
    for href, text in Page(example[2].html).links:
        per_reader = href == UNSUBSCRIBE_URL or href.startswith(f"{tally.REPORT_URL}/")
        assert per_reader or re.match(r"(https://|mailto:|tel:\+\d{8,15}$)", href), href
        assert text and text.lower() not in ("click here", "here", "link", "this"), (href, text)


def test_preheader_is_first_and_hidden(example: tuple[Project, Newsletter, Rendered]) -> None:
    _, newsletter, result = example
    body = result.html[result.html.index("<body") :]
    first_div = re.search(r"<div[^>]*>([^<]*)", body)
    assert first_div and first_div.group(1).startswith(newsletter.preheader)
    assert "display:none" in first_div.group(0).replace(" ", "")


def test_footer_has_postal_address_and_unsubscribe(example: tuple[Project, Newsletter, Rendered]) -> None:
    project, _, result = example
    assert project.settings.organization.postal_address in result.html
    assert project.settings.organization.postal_address in result.text
    assert result.html.count(UNSUBSCRIBE_URL) == 1
    assert f": {UNSUBSCRIBE_URL}" in result.text


def test_no_template_syntax_or_css_fetch_left(example: tuple[Project, Newsletter, Rendered]) -> None:
    html = example[2].html
    assert "{{" not in html and "{%" not in html
    assert "fonts.googleapis" not in html and "@import" not in html


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_html_is_small(path: Path) -> None:
    """The budget, 40 KB, for every version of every example (Gmail clips at about 102 KB); the official
    compiler's output for the same MJML is the other bound (tests/test_mjml_validator.py)."""
    project, newsletter = check.load(path)
    for district in [None, *project.officials.districts]:
        result = render(newsletter, project, district=district, slug=check.slug(path))
        assert len(result.html.encode()) <= 40 * 1024, (district, len(result.html.encode()))


def test_inline_css_is_inlined_once() -> None:
    """The <mj-style inline> rules are on the elements and not in the head as well; MJML's table reset is in the
    head only, not copied onto every cell."""
    _, _, result = rendered(SEED)
    head, body = result.html.split("<body", 1)
    assert "h1 { font-size" not in head and re.search(r"<h1 style=\"[^\"]*font-size: ?28px", body)
    assert "mso-table-lspace" in head and "mso-table-lspace" not in body
    assert "<![endif]--><!--[if mso | IE]>" not in result.html  # neighbouring Outlook comments merged


def test_text_part_headings_links_and_parentheses(example: tuple[Project, Newsletter, Rendered]) -> None:
    """Each underline as long as its heading; links written one way, "text (URL)"; no parentheses inside
    parentheses; no line that says "X: It depends on where you live:"."""
    lines = example[2].text.splitlines()
    for above, line in itertools.pairwise(lines):
        if line and set(line) <= {"=", "-"} and len(line) > 2:
            assert len(line) == len(above), (above, line)
    assert "<http" not in example[2].text
    for paragraph in example[2].text.split("\n\n"):
        depth = 0
        for char in re.sub(r"https?://\S+", "", paragraph):
            depth += {"(": 1, ")": -1}.get(char, 0)
            assert depth <= 1, paragraph
    assert not [line for line in lines if re.search(r":.*:\s*$", line) and "live:" in line]


def test_spanish_bonus_heading_is_underlined_to_its_length(project: Path) -> None:
    from tests.conftest import write

    path = write(
        project / "newsletters",
        "2019-08-01-x.yaml",
        """
        date: 2019-08-01
        language: es
        subject: Una llamada
        preheader: Una llamada hoy.
        headline: Una llamada
        actions:
          - {kind: read, title: Lea esto, link: {text: El artículo, url: "https://example.org/a"}}
        bonus:
          - {kind: read, title: Y esto, link: {text: Otro, url: "https://example.org/b"}}
        """,
    )
    project_, newsletter = check.load(path)
    text = render(newsletter, project_, slug="x").text
    assert "\nACCIÓN ADICIONAL\n================\n" in text


def test_district_variant_names_its_councilmember() -> None:
    _, _, fallback = rendered(SEED)
    _, _, district3 = rendered(SEED, district="3")
    assert 'href="tel:+12066848803"' in district3.html
    assert "Kshama Sawant" in district3.text and "Lisa Herbold" not in district3.text
    # Without a district, readers get the lookup link and every district's member: never a blank.
    assert "find-your-council-district" in fallback.html
    assert all(name in fallback.text for name in ("Lisa Herbold", "Kshama Sawant", "Sally Bagshaw"))


def test_seed_countdown_and_deadline() -> None:
    _, _, result = rendered(SEED)
    assert "Return your ballot in 5 days: Tuesday, August 6, 8:00\u202fPM." in result.text


def test_text_part_quotes_the_script_and_spells_out_urls() -> None:
    _, _, result = rendered(SEED)
    assert "> Hi, my name is [YOUR NAME] and I live in [ZIP]. I've heard that" in result.text
    assert (
        "(https://www.vice.com/en/article/j5wyjy/amazon-told-police-it-has-partnered-with-200-law-enforcement-agencies)"
        in result.text
    )


@pytest.mark.parametrize(
    ("days", "language", "expected"),
    [
        (0, "en", "today"),
        (1, "en", "tomorrow"),
        (5, "en", "in 5 days"),
        (21, "en", "in 21 days"),
        (5, "es", "dentro de 5 días"),
    ],
)
def test_countdown(days: int, language: str, expected: str) -> None:
    start = dt.date(2019, 8, 1)
    assert countdown(start, start + dt.timedelta(days=days), language=language, gettext=lambda s: s) == expected


def test_phone_is_written_locally_and_dialled_in_e164() -> None:
    phone = view.phone_view("+12066844000", "US", "Mayor's office")
    assert (phone.display, phone.tel) == ("(206) 684-4000", "+12066844000")
    assert view.phone_view("+442079460000", "US").display == "+44 20 7946 0000"


def test_rendering_is_pure(monkeypatch: pytest.MonkeyPatch) -> None:
    # No clock, no environment, no network: the same input always gives the same output.
    project, newsletter, first = rendered(SEED)
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    monkeypatch.setattr("socket.socket", None)
    assert render(newsletter, project, slug=check.slug(SEED)) == first


def test_project_templates_override_builtins_one_file_at_a_time(project: Path) -> None:
    (project / "templates").mkdir()
    (project / "templates" / "email.txt").write_text("{{ n.headline }}, for {{ org.name }}.\n")
    _, newsletter = check.load(SEED)
    local = check.load_project(project / "newsletters")
    result = render(newsletter, local, slug="x")
    assert result.text == "No police partnerships on facial recognition in Seattle, for Seattle Indivisible.\n"
    assert re.search(r"<h1[^>]*>No police partnerships", result.html)  # email.mjml still comes from the built-ins


def test_a_projects_catalog_overrides_builtin_messages_one_at_a_time(project: Path) -> None:
    """A project's es.po made for its emails' words (one msgid here) leaves every other message — the pages' —
    to the built-in catalog, as its templates override the built-ins one file at a time."""
    from actionmail.render.templates import builtin_templates, environment

    (project / "templates" / "locale").mkdir(parents=True)
    (project / "templates" / "locale" / "es.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\nmsgid "Unsubscribe"\nmsgstr "Darse de baja"\n',
        encoding="utf-8",
    )
    env = environment((project / "templates", builtin_templates()), "es")
    said = env.from_string('{{ _("Unsubscribe") }} | {{ _("Sign up") }} | {{ _("No such words") }}').render()
    assert said == "Darse de baja | Suscribirse | No such words"
    builtin = environment((builtin_templates(),), "es").from_string('{{ _("Unsubscribe") }}').render()
    assert builtin == "Cancelar la suscripción"


def test_template_mistakes_are_reported_with_file_and_line(project: Path) -> None:
    (project / "templates").mkdir()
    (project / "templates" / "email.txt").write_text("line one\n{{ n.headlin }}\n")
    _, newsletter = check.load(SEED)
    with pytest.raises(InvalidInput) as raised:
        render(newsletter, check.load_project(project / "newsletters"), slug="x")
    assert str(raised.value) == (
        "templates/email.txt:2: template error: 'actionmail.newsletter.Newsletter object' has no "
        "attribute 'headlin': correct the template"
    )
    (project / "templates" / "email.txt").write_text("{% if %}\n")
    with pytest.raises(InvalidInput) as raised:
        render(newsletter, check.load_project(project / "newsletters"), slug="x")
    assert str(raised.value).startswith("templates/email.txt:1: template error: ")


def test_script_paragraphs_join_wrapped_lines_and_keep_list_items() -> None:
    from actionmail.render import markdown

    script = (
        "Hi, my name is [YOUR NAME], and I am calling from\nzip code [ZIP].\n\n"
        "Please:\n- vote yes\n- tell others\n\nSincerely,\n[YOUR NAME]"
    )
    assert markdown.paragraphs(script) == [
        "Hi, my name is [YOUR NAME], and I am calling from zip code [ZIP].",
        "Please:\n- vote yes\n- tell others",
        "Sincerely,\n[YOUR NAME]",
    ]
    assert markdown.quote(script) == (
        "> Hi, my name is [YOUR NAME], and I am calling from zip code [ZIP].\n>\n"
        "> Please:\n> - vote yes\n> - tell others\n>\n> Sincerely,\n> [YOUR NAME]"
    )


def test_group_hotline_and_scripts_for_any_target(project: Path) -> None:
    from tests.conftest import write

    write(
        project,
        "officials.yaml",
        """
        officials:
          - {id: murray, name: Patty Murray, title: Senator, phones: [{label: DC office, number: "202-224-2621"}]}
        groups:
          - id: senators
            label: our senators
            members: [murray]
            hotline: {label: Capitol switchboard, number: "202-224-3121"}
        """,
    )
    path = write(
        project / "newsletters",
        "2019-08-01-x.yaml",
        """
        date: 2019-08-01
        subject: Call your senators and legislators
        preheader: Two calls today.
        headline: Two calls
        actions:
          - kind: call
            title: Call
            targets:
              - group: senators
              - lookup: {text: Find your legislators, url: "https://app.leg.wa.gov/districtfinder"}
                label: your state legislators
                id: legislators
            script:
              - for: senators
                text: Senator, please vote yes.
              - for: legislators
                text: Representative, please vote yes.
        """,
    )
    project_, newsletter = check.load(path)
    result = render(newsletter, project_, slug="x")
    assert 'Capitol switchboard: <a class="am-tel" href="tel:+12022243121"' in result.html
    assert "Capitol switchboard: (202) 224-3121" in result.text
    assert "Script for your state legislators:\n\n> Representative, please vote yes." in result.text
