"""What Outlook for Windows gets, read from the HTML the way it reads it: its conditional comments opened.

Outlook for Windows renders with Word: it ignores the padding of a <div>, <p> or <a>, draws no rounded corners,
and reads the markup inside ``<!--[if mso]>…<![endif]-->`` as HTML, while it skips what ``<!--[if !mso]><!-->…
<!--<![endif]-->`` holds. There is no Outlook here, so these tests build its view of every example (and of a
newsletter with every kind of box) and check its structure: the conditional markup balanced, a VML button for
each button the other clients get, and no padding left where Outlook would drop it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from actionmail import check
from actionmail.render import render
from tests.conftest import EXAMPLES, write

# Outlook-only markup, and markup Outlook skips. Conditions other than these two would need reading here.
_MSO_ONLY = re.compile(r"<!--\[if (mso(?: \| IE)?)\]>(.*?)<!\[endif\]-->", re.DOTALL)
_NOT_MSO = re.compile(r"<!--\[if !mso\]><!-->(.*?)<!--<!\[endif\]-->", re.DOTALL)
_ANY_CONDITION = re.compile(r"<!--\[if ([^\]]*)\]>")
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})

EVERY_BOX = """\
date: 2019-08-01
subject: Call your councilmember
preheader: Ask them to ban police partnerships with Ring.
headline: No police partnerships on facial recognition
yesterday:
  text: Yesterday 212 of you called Jenny Durkan. Thank you!
  issue: 2019-07-31-durkan
  as_of: 2019-08-01T06:30:00-07:00
actions:
  - kind: call
    title: Call your councilmember
    targets:
      - group: district-councilmember
    script:
      text: "Hi, my name is [YOUR NAME] and I live in [ZIP]."
      voicemail: "Please ban police partnerships with Ring."
    report_back: {text: Let us know you called, url: "https://example.org/called"}
  - kind: petition
    title: Sign the petition
    link: {text: "Sign it --> <![endif]--> now", url: "https://example.org/sign"}  # can't end a comment early
bonus:
  - kind: survey
    title: Will you come?
    survey:
      prompt: Will you come to the hearing?
      choices:
        - {label: "Yes", value: "yes"}
        - {label: "Not sure", value: "not sure"}
        - {label: "I can't come, but I'll tell three friends who can", value: "share"}
        - {label: Tell us more, url: "https://example.org/more"}
"""


def outlook_view(html: str) -> str:
    """``html`` as Outlook for Windows reads it: its own markup opened, the markup it skips left out."""
    assert set(_ANY_CONDITION.findall(html)) <= {"mso", "mso | IE", "!mso", "lte mso 11"}
    return _MSO_ONLY.sub(lambda m: m.group(2), _NOT_MSO.sub("", html))


def other_view(html: str) -> str:
    """``html`` as every other client reads it: Outlook's conditional comments are comments."""
    return _NOT_MSO.sub(lambda m: m.group(1), html)


class Tree(HTMLParser):
    """Start and end tags checked to pair up (void elements aside); each element with its attributes."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str], list[int]]] = []  # tag, attributes, ancestors' indexes
        self.texts: dict[int, list[str]] = {}
        self.problems: list[str] = []
        self._open: list[tuple[str, int]] = []
        self.feed(html)
        self.close()
        self.problems += [f"<{tag}> never closed" for tag, _ in self._open]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, [i for _, i in self._open]))
        if tag not in _VOID:
            self._open.append((tag, len(self.elements) - 1))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, [i for _, i in self._open]))

    def handle_endtag(self, tag: str) -> None:
        if not self._open or self._open[-1][0] != tag:
            self.problems.append(f"</{tag}> closes <{self._open[-1][0] if self._open else 'nothing'}>")
            return
        self._open.pop()

    def handle_data(self, data: str) -> None:
        for _, index in self._open:
            self.texts.setdefault(index, []).append(data)

    def text(self, tag: str, attrs: dict[str, str]) -> str:
        index = next(i for i, (t, a, _) in enumerate(self.elements) if t == tag and a == attrs)
        return " ".join("".join(self.texts.get(index, [])).split())


def style(attrs: dict[str, str]) -> dict[str, str]:
    pairs = (d.split(":", 1) for d in attrs.get("style", "").split(";") if ":" in d)
    return {k.strip().lower(): v.strip() for k, v in pairs}


def html_of(path: Path) -> str:
    project, newsletter = check.load(path)
    return render(newsletter, project, slug=check.slug(path)).html


@pytest.fixture(scope="module")
def every_box(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("project")
    (root / "newsletters").mkdir()
    for name in ("actionmail.toml", "officials.yaml"):
        (root / name).write_text((EXAMPLES[0].parent.parent / name).read_text(encoding="utf-8"), encoding="utf-8")
    return html_of(write(root / "newsletters", "2019-08-01-every-box.yaml", EVERY_BOX))


CASES = [*EXAMPLES, "every-box"]


@pytest.fixture(params=CASES, ids=[p if isinstance(p, str) else p.stem for p in CASES])
def html(request: pytest.FixtureRequest, every_box: str) -> str:
    return every_box if request.param == "every-box" else html_of(request.param)


def test_both_views_are_well_formed(html: str) -> None:
    """Every element opened inside a conditional comment is closed in the same view, whichever client reads it."""
    assert Tree(outlook_view(html)).problems == []
    assert Tree(other_view(html)).problems == []


def test_vml_has_its_namespaces(html: str) -> None:
    opening = re.match(r"<!DOCTYPE html><html [^>]*>", html)
    assert opening and 'xmlns:v="urn:schemas-microsoft-com:vml"' in opening.group(0)
    assert 'xmlns:o="urn:schemas-microsoft-com:office:office"' in opening.group(0)
    for tag, attrs, _ in Tree(outlook_view(html)).elements:
        if tag == "v:roundrect":
            assert attrs["xmlns:v"] == "urn:schemas-microsoft-com:vml"
            assert attrs["xmlns:w"] == "urn:schemas-microsoft-com:office:word"


def test_every_button_has_a_vml_twin_for_outlook(html: str) -> None:
    """Each link drawn as a button elsewhere is, in Outlook, a rounded VML shape with the same link and words,
    sized in pixels; and Outlook doesn't get the link as well."""
    others = Tree(other_view(html))
    buttons = [
        (a["href"], others.text("a", a))
        for tag, a, _ in others.elements
        if tag == "a" and a.get("class") in ("am-button", "am-button-outline", "am-choice")
    ]
    outlook = Tree(outlook_view(html))
    shapes = [(a, outlook.text("v:roundrect", a)) for tag, a, _ in outlook.elements if tag == "v:roundrect"]
    assert buttons, "no buttons in this example"
    assert sorted((a["href"], text) for a, text in shapes) == sorted(buttons)
    for attrs, _ in shapes:
        size = style(attrs)
        assert re.fullmatch(r"\d+px", size["width"]) and re.fullmatch(r"\d+px", size["height"]), attrs
        assert int(size["width"][:-2]) <= 552, attrs  # the column
        assert attrs["arcsize"].endswith("%") and attrs["fillcolor"].startswith("#")
    outlook_links = {a.get("href") for tag, a, _ in outlook.elements if tag == "a"}
    assert not outlook_links & {href for href, _ in buttons}


def test_choices_are_apart_in_outlook(html: str) -> None:
    """Survey answers: in Outlook, each in a table cell of its own with room after it (its cells, unlike inline
    links, keep their padding), in rows whose shapes fit the column side by side."""
    choices = {a["href"] for tag, a, _ in Tree(other_view(html)).elements if a.get("class") == "am-choice"}
    outlook = Tree(outlook_view(html))
    rows: dict[int, int] = {}
    shapes = 0
    for tag, attrs, ancestors in outlook.elements:
        if tag != "v:roundrect" or attrs["href"] not in choices:
            continue
        cell_tag, cell, _ = outlook.elements[ancestors[-1]]
        assert cell_tag == "td" and style(cell)["padding"] == "0 8px 8px 0", cell
        row = next(i for i in reversed(ancestors) if outlook.elements[i][0] == "tr")
        rows[row] = rows.get(row, 0) + int(style(attrs)["width"][:-2]) + 8
        shapes += 1
    assert shapes == len(choices) and len(rows) <= len(choices)
    assert all(width <= 552 + 8 for width in rows.values()), rows


def test_no_padding_where_outlook_ignores_it(html: str) -> None:
    """Outlook for Windows drops the padding of a <div>, <p>, <a> or <span>: none may need it. Boxes pad their
    cells instead."""
    elements = Tree(outlook_view(html)).elements
    padded = [(tag, a.get("class"), a["style"]) for tag, a, _ in elements
              if tag in ("div", "p", "a", "span") and any(k.startswith("padding") for k in style(a))]  # fmt: skip
    assert padded == []
    boxes = [(a.get("class"), style(a)) for tag, a, _ in elements if a.get("class") in ("am-box", "am-script")]
    assert all(tag == "td" for tag, a, _ in elements if a.get("class") in ("am-box", "am-script"))
    assert all(s.get("padding") for _, s in boxes), boxes


def test_the_boxes_are_tables(every_box: str) -> None:
    """The yesterday box, the district box and the scripts (and voicemail) of the every-box newsletter."""
    elements = Tree(outlook_view(every_box)).elements
    classes = [a.get("class") for tag, a, _ in elements if tag == "td"]
    assert classes.count("am-box") == 2 and classes.count("am-script") == 2
    assert not [a for tag, a, _ in elements if tag != "td" and a.get("class") in ("am-box", "am-script")]


def test_the_view_is_what_outlook_gets() -> None:
    """The views above could pass by reading nothing: a sample with one of each condition splits as it should."""
    sample = (
        '<!--[if mso]><v:roundrect href="x"><center>Go</center></v:roundrect><![endif]-->'
        '<!--[if !mso]><!--><a class="am-button" href="x" style="padding:1px">Go</a><!--<![endif]-->'
    )
    assert outlook_view(sample) == '<v:roundrect href="x"><center>Go</center></v:roundrect>'
    assert other_view(sample) == (
        '<!--[if mso]><v:roundrect href="x"><center>Go</center></v:roundrect><![endif]-->'
        '<a class="am-button" href="x" style="padding:1px">Go</a>'
    )
    assert Tree("<table><tr><td><p>x</td></tr></table>").problems
    assert Tree(outlook_view("<!--[if mso]><table><tr><td><![endif]-->x")).problems


@pytest.mark.parametrize("length", [1, 10, 40, 80, 200])
def test_a_vml_button_fits_the_column_and_grows_taller_for_a_long_label(length: int) -> None:
    """Outlook doesn't grow a VML shape to fit its label: the size given must hold the label, within the column."""
    from actionmail.render.templates import COLUMN, button_size

    width, height = button_size("W" * length)
    one_line = button_size("W")[1]
    assert width <= COLUMN
    # 0.6 em a character at 17 px, plus 22 px padding each side: the label's room, line by line
    assert (width - 44) * (height - 24) // (one_line - 24) >= length * 0.6 * 17 - 1
    assert (height > one_line) == (length * 0.6 * 17 > COLUMN - 44)
