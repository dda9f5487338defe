"""The static accessibility check: for each rule, a newsletter, settings or template that breaks it (the exact
problem, on its line) and one that keeps it (no problem); and every example newsletter is clean."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest

from actionmail import check, variants
from actionmail.check import contrast
from actionmail.check.accessibility import accessibility
from actionmail.render import templates
from tests.conftest import EXAMPLES, write

SETTINGS = """\
[organization]
name = "Test Org"
postal_address = "PO Box 1, Seattle, WA 98101"

[email]
from = "Test Org <action@example.org>"

[colors]
card = "#ffffff"
"""

# Line 5 is background:, where the Markdown under test goes.
NEWSLETTER = """\
date: 2019-08-01
subject: Call the mayor about Ring
preheader: Ask the mayor to ban police partnerships with Ring.
headline: No police partnerships on facial recognition
background: |
  {background}
actions:
  - kind: call
    title: Call the mayor
    targets:
      - official: durkan
    script: "Hi, my name is [YOUR NAME] and I live in [ZIP]."
"""

TEMPLATE = (templates.builtin_templates() / "email.mjml").read_text(encoding="utf-8")
MJML_OPEN = '<mjml lang="{{ language }}" dir="{{ direction }}">'
BODY_OPEN = '<mj-body background-color="{{ colors.background }}" width="600px" css-class="am-body">'
DARK_TEXT = ".am-body td { color: #e8eaed !important; }"  # the end of the dark-mode rule for text


def problems(
    project: Path, *, background: str = "Ring sells cameras to police.", colors: str = "", body: str = "",
    mjml: str = MJML_OPEN, dark: str = DARK_TEXT,
) -> list[str]:  # fmt: skip
    (project / "actionmail.toml").write_text(SETTINGS + colors, encoding="utf-8")
    if body or mjml != MJML_OPEN or dark != DARK_TEXT:
        template = TEMPLATE.replace(MJML_OPEN, mjml).replace(BODY_OPEN, f"{BODY_OPEN}\n{body}")
        template = template.replace(DARK_TEXT, dark)
        (project / "templates").mkdir(exist_ok=True)
        write(project / "templates", "email.mjml", template)
    path = write(project / "newsletters", "day.yaml", NEWSLETTER.format(background=background))
    loaded_project, newsletter = check.load(path)
    return [str(p) for p in accessibility(check.make_draft(path, loaded_project, newsletter))]


def raw(html: str) -> str:
    # In <mj-body>, not <mj-column>: mjml-python closes one <div> too many after an <mj-raw> in a column.
    return f"<mj-raw>{html}</mj-raw>"


def image(attributes: str) -> str:
    return (
        f'<mj-section><mj-column><mj-image src="https://example.org/logo.png" {attributes} /></mj-column></mj-section>'
    )


CASES = [
    pytest.param({}, [], id="clean"),
    pytest.param(
        {"background": "# Also a headline"},
        [
            'newsletters/day.yaml:5: background: warning: "Also a headline" is a second top-level heading (h1): the '
            "headline is the email's one h1: make it a lower level: ## in Markdown"
        ],
        id="second-h1",
    ),
    pytest.param({"background": "## A subheading"}, [], id="second-level-heading"),
    pytest.param(
        {"background": "Ring sells cameras.\n\n  ### What *Ring* does"},
        [
            'newsletters/day.yaml:5: background: warning: the heading "What Ring does" (h3) follows an h1, skipping '
            "a level: make it an h2: ## in Markdown"
        ],
        id="skipped-heading-level",
    ),
    pytest.param({"background": "Ring sells cameras.\n\n  ## What *Ring* does"}, [], id="heading-levels-in-order"),
    pytest.param(
        {"background": "Read [](https://example.org/ring) today."},
        [
            "newsletters/day.yaml:5: background: the link to https://example.org/ring has no text: a screen reader "
            "reads out its address instead: write what the link is about between the brackets: [text](address)"
        ],
        id="link-without-text",
    ),
    pytest.param({"background": "Read [the story](https://example.org/ring) today."}, [], id="link-with-text"),
    pytest.param(
        {"background": "Read [the story](https://example.org/ring).\nps: Read [](https://example.org/ring) again."},
        [
            "newsletters/day.yaml:7: ps: the link to https://example.org/ring has no text: a screen reader reads out "
            "its address instead: write what the link is about between the brackets: [text](address)"
        ],
        id="link-without-text-where-the-address-is-also-linked-with-text",
    ),
    pytest.param(
        # #777777 on white is 4.48:1 (WebAIM's contrast checker says the same): just under AA for body text.
        {"colors": 'text = "#777777"\n'},
        [
            'actionmail.toml:10: colors.text: "Call the mayor" is #777777 on #ffffff, a contrast of '
            "4.48:1; WCAG AA asks for 4.5:1 at 17px: pick a darker colour, such as #757575"
        ],
        id="text-colour-too-light",
    ),
    # #767676 on white, 4.54:1, is the lightest grey that passes.
    pytest.param({"colors": 'text = "#767676"\n'}, [], id="text-colour-dark-enough"),
    pytest.param(
        {"colors": 'brand = "#4a90d9"\n'},
        [
            'actionmail.toml:10: colors.brand: "Test Org" is #4a90d9 on #f4f4f4, a contrast of 3.04:1; WCAG AA asks '
            "for 4.5:1 at 15px bold: pick a darker colour, such as #3a70a9"
        ],
        id="brand-colour-too-light",
    ),
    pytest.param(
        {"dark": ".am-body td { color: #6b6b6b !important; }"},
        [
            'templates/email.mjml: in dark mode, "Test Org" is #6b6b6b on #0f1113, a contrast of 3.55:1; WCAG AA asks '
            "for 4.5:1 at 15px bold: change the colour in its dark-mode CSS, @media (prefers-color-scheme: dark)",
            'templates/email.mjml: in dark mode, "Call the mayor" is #6b6b6b on #16181b, a contrast of '
            "3.34:1; WCAG AA asks for 4.5:1 at 17px: change the colour in its dark-mode CSS, @media "
            "(prefers-color-scheme: dark)",
        ],
        id="dark-mode-text-too-faint",
    ),
    pytest.param({"dark": ".am-body td { color: #9aa0a6 !important; }"}, [], id="dark-mode-text-light-enough"),
    pytest.param(
        {"mjml": "<mjml>"},
        [
            'templates/email.mjml: the HTML doesn\'t say which language it is in (lang="und" on <html>): screen '
            'readers won\'t know how to pronounce it: write lang="{{ language }}" on <mjml>'
        ],
        id="no-lang",
    ),
    pytest.param(
        {"mjml": '<mjml lang="es" dir="{{ direction }}">'},
        [
            'templates/email.mjml: the HTML says lang="es" but the newsletter is in "en": write lang="{{ language }}" '
            "on <mjml>"
        ],
        id="wrong-lang",
    ),
    pytest.param(
        {"mjml": '<mjml lang="{{ language }}" dir="rtl">'},
        [
            'templates/email.mjml: the HTML says dir="rtl" but "en" is written ltr: write dir="{{ direction }}" on '
            "<mjml>"
        ],
        id="wrong-dir",
    ),
    pytest.param({"mjml": '<mjml lang="{{ language }}">'}, [], id="dir-auto"),
    pytest.param(
        {"body": image("")},
        [
            "templates/email.mjml: the image https://example.org/logo.png has no alt text: readers who don't see "
            'images get nothing, or its file name: describe it in alt, or write alt="" if it is only decoration'
        ],
        id="image-without-alt",
    ),
    pytest.param({"body": image('alt="Test Org"')}, [], id="image-with-alt"),
    pytest.param({"body": image('alt=""')}, [], id="decorative-image"),
    pytest.param(
        {"body": image('alt="" href="https://example.org/"')},
        [
            "templates/email.mjml: the image https://example.org/logo.png is all there is in a link, and its alt is "
            "empty: the link has no name: describe where the link goes in the image's alt"
        ],
        id="linked-image-without-alt",
    ),
    pytest.param({"body": image('alt="Test Org home page" href="https://example.org/"')}, [], id="linked-image"),
    pytest.param(
        {"body": raw("<table><tr><td>Layout</td></tr></table>")},
        [
            'templates/email.mjml: warning: 1 layout table(s) without role="presentation": screen readers announce '
            'each as a table: add role="presentation" to every <table> that only lays out the page'
        ],
        id="layout-table",
    ),
    pytest.param({"body": raw('<table role="presentation"><tr><td>Layout</td></tr></table>')}, [], id="presentation"),
    pytest.param({"body": raw("<table><tr><th>Day</th></tr><tr><td>Monday</td></tr></table>")}, [], id="data-table"),
    pytest.param({"body": raw("<p>An unchanged copy of the template, plus a paragraph</p>")}, [], id="own-template"),
]


@pytest.mark.parametrize(("change", "expected"), CASES)
def test_rule(project: Path, change: dict[str, str], expected: list[str]) -> None:
    assert problems(project, **change) == expected


def test_no_h1(project: Path) -> None:
    template = TEMPLATE.replace("<h1>{{ n.headline }}</h1>", "<p>{{ n.headline }}</p>")
    (project / "templates").mkdir()
    write(project / "templates", "email.mjml", template)
    path = write(project / "newsletters", "day.yaml", NEWSLETTER.format(background="Ring."))
    loaded, newsletter = check.load(path)
    assert [str(p) for p in accessibility(check.make_draft(path, loaded, newsletter))] == [
        "templates/email.mjml: warning: the email has no top-level heading (h1): screen-reader users jump to it to "
        "find the headline: put the headline in an <h1>"
    ]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_are_clean(path: Path) -> None:
    project, newsletter = check.load(path)
    draft = check.make_draft(path, project, newsletter)
    # Every variant readers get is read, not only the first: each district's, where the email names one.
    districts = project.officials.districts if variants.uses_district(newsletter, project) else []
    assert len(draft.rendered) == 1 + len(districts)
    assert list(accessibility(draft)) == []


@pytest.mark.parametrize(
    ("foreground", "background", "expected"),
    [
        ("#000000", "#ffffff", 21.0),  # the extremes, by WCAG's definition
        ("#ffffff", "#ffffff", 1.0),
        ("#777777", "#ffffff", 4.48),  # published values (WebAIM's contrast checker)
        ("#767676", "#ffffff", 4.54),
        ("#0000ff", "#ffffff", 8.59),
        ("rgb(255, 0, 0)", "white", 4.0),
    ],
)
def test_contrast_ratio(foreground: str, background: str, expected: float) -> None:
    a, b = contrast.parse(foreground), contrast.parse(background)
    assert a is not None and b is not None
    assert round(contrast.ratio(a, b), 2) == expected


def test_what_is_measured() -> None:
    """Hidden text (the preheader is white on white) and text over a background image are not measured; visible
    text is, in its inherited colours, with a translucent colour blended over its background."""
    document = lxml.html.document_fromstring(
        '<html><body style="background-color:#fff"><div style="display:none;color:#fff">Preheader</div>'
        '<p style="color:#fefefe">Shown <span style="opacity:0">gone</span></p>'
        '<table><tr><td bgcolor="#000000"><span style="color:rgba(255,255,255,0.5)">Half white</span></td></tr></table>'
        '<div style="background:url(https://example.org/dark.jpg) #ffffff;color:#fff">Over a photo'
        '<p style="background-color:#ffffff">On white again</p></div>'
        "</body></html>"
    )
    measured = [(t.sample, contrast.to_hex(t.color), contrast.to_hex(t.background)) for t in
                contrast.painted_text(document)]  # fmt: skip
    assert measured == [
        ("Shown", "#fefefe", "#ffffff"),
        ("Half white", "#808080", "#000000"),
        ("On white again", "#ffffff", "#ffffff"),
    ]
