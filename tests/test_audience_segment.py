"""Segments: every form of the syntax selects the members it says, and every mistake is a clear error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from actionmail.audience import Segment, Store
from actionmail.errors import UsageError
from tests.conftest import write

DISTRICTS = ["1", "2", "3", "4", "5", "6", "7"]

MEMBERS = """\
email,district,zip,language,tags,Team
ana@example.org,1,98106,en,"volunteer,phonebank",phones
bo@example.org,2,98108,es,volunteer,"phone bank"
cy@example.org,3,98122,es,,doors
di@example.org,,98004,en,donor,
ed@example.org,1,,,,
"""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "actionmail.db") as opened:
        opened.import_csv(write(tmp_path, "m.csv", MEMBERS))
        yield opened


def chosen(store: Store, text: str) -> list[str]:
    segment = Segment.parse(text, DISTRICTS)
    selected = [m.email.split("@")[0] for m in store.subscribers(segment)]
    assert store.count(segment) == len(selected)
    return sorted(selected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("district=1", ["ana", "ed"]),
        ("district = 1", ["ana", "ed"]),
        ("district=1|2", ["ana", "bo", "ed"]),
        ("district=1 | 2", ["ana", "bo", "ed"]),
        ("district=none", ["di"]),
        ("district=3|none", ["cy", "di"]),
        ("district!=1", ["bo", "cy", "di"]),
        ("district!=1 district!=none", ["bo", "cy"]),
        ("district!=none", ["ana", "bo", "cy", "ed"]),
        ("zip=98106", ["ana"]),
        ("zip=none", ["ed"]),
        ("language=es", ["bo", "cy"]),
        ("language=Spanish", ["bo", "cy"]),
        ("language=ES", ["bo", "cy"]),
        ("language!=es", ["ana", "di", "ed"]),
        ("language=none", ["ed"]),
        ("tag=volunteer", ["ana", "bo"]),
        ("tag=Volunteer", ["ana", "bo"]),
        ("tag=phonebank|donor", ["ana", "di"]),
        ("tag!=volunteer", ["cy", "di", "ed"]),
        ("tag=none", ["cy", "ed"]),
        ("field.team=phones", ["ana"]),
        ("field.Team=PHONES", ["ana"]),
        ('field.team="phone bank"', ["bo"]),
        ("field.team=phones|doors", ["ana", "cy"]),
        ("field.team=none", ["di", "ed"]),
        ("field.team!=phones", ["bo", "cy", "di", "ed"]),
        ("district=1 tag=volunteer", ["ana"]),
        ("district=1,tag=volunteer", ["ana"]),
        ("district=1, tag=volunteer", ["ana"]),
        ("language=es tag=volunteer field.team!=doors", ["bo"]),
        ("district=1 district=2", []),
    ],
)
def test_segments_select(store: Store, text: str, expected: list[str]) -> None:
    assert chosen(store, text) == expected


def test_segments_leave_out_members_not_sent_to(store: Store) -> None:
    store.unsubscribe("ana@example.org")
    assert chosen(store, "district=1") == ["ed"]


def test_values_are_parameters_not_sql(store: Store) -> None:
    assert chosen(store, 'field.team="x\') OR 1=1 --"') == []
    assert chosen(store, "tag=\"volunteer' OR '1'='1\"") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "distrct=3",
            "segment 'distrct=3': unknown key 'distrct': use district, district.SET, zip, language, tag or field.NAME",
        ),
        (
            "status=active",
            "segment 'status=active': unknown key 'status': use district, district.SET, zip, language, tag or field.NAME",
        ),
        (
            "volunteer",
            "segment 'volunteer': 'volunteer' is not KEY=VALUE: write terms like district=3 or tag=volunteer",
        ),
        ("", "segment '': nothing to select on: write terms like district=3 or tag=volunteer"),
        (
            "district=",
            "segment 'district=': 'district=' has an empty value: write district=VALUE, or district=none for members "
            "without one",
        ),
        (
            "district=1|",
            "segment 'district=1|': 'district=1|' has an empty value: write district=VALUE, or district=none for "
            "members without one",
        ),
        ("field.=x", "segment 'field.=x': 'field.' needs a field name: write field.NAME=VALUE, like field.team=phones"),
        (
            'field.team="phone',
            'segment \'field.team="phone\': a quote is not closed: close it, as in field.team="phone bank"',
        ),
        (
            "district=9",
            "segment 'district=9': no district '9' in officials.yaml (known: 1, 2, 3, 4, 5, 6, 7): use one of them, "
            "or none for members without a district",
        ),
        ("language=Englsh", "segment 'language=Englsh': 'Englsh' is not a language: write a code like en or es"),
    ],
)
def test_mistakes(text: str, message: str) -> None:
    with pytest.raises(UsageError) as raised:
        Segment.parse(text, DISTRICTS)
    assert str(raised.value) == message


def test_districts_are_not_checked_without_officials() -> None:
    assert Segment.parse("district=9", []).terms[0].values == ("9",)
