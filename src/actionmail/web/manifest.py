"""What is published: a list kept in the output directory (``.actionmail-web.json``) of every newsletter on the
site (what its index entry and feed entry need, and its files) and of the site's own files (index pages, feed).

It lets :func:`actionmail.web.publish` add one newsletter and write the index and feed again without reading
or rendering the others, and lets a build remove what it published before and publishes no more (a newsletter
now ``web: false``, renamed or deleted) while never touching a file it did not write. Everything in it is on the
site's pages already. Being read back from a directory that others can write, it is checked like any input.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pydantic

from actionmail.errors import InvalidInput
from actionmail.web.paths import Unsafe, check_name

NAME = ".actionmail-web.json"
_REBUILD = "run `actionmail web build`, which writes the whole site and this list again"


class Entry(pydantic.BaseModel):
    """One published newsletter."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    source: str  # the newsletter file, relative to the project
    date: dt.date
    subject: str
    headline: str
    preheader: str
    language: str
    url: str  # the page's address, as the email links to it
    link: str  # its path on the site
    files: tuple[str, ...]  # relative to the output directory: the page first, then its calendars

    @pydantic.field_validator("files")
    @classmethod
    def _safe(cls, files: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(safe(file) for file in files)


class Manifest(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    version: int = 1
    newsletters: tuple[Entry, ...] = ()
    site: tuple[str, ...] = ()  # the index pages and the feed

    @pydantic.field_validator("site")
    @classmethod
    def _safe(cls, files: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(safe(file) for file in files)

    @property
    def files(self) -> set[str]:
        return {*self.site, *(file for entry in self.newsletters for file in entry.files)}

    def dump(self) -> bytes:
        return (json.dumps(self.model_dump(mode="json"), indent=1, ensure_ascii=False) + "\n").encode()


def safe(file: str) -> str:
    """A file named in the list must be one the site could have: a plain relative path, nothing leading out."""
    try:
        for name in file.split("/"):
            check_name(name)
    except Unsafe as e:
        raise ValueError(f"{file!r} {e}") from None
    return file


def read(output: Path) -> Manifest | None:
    """The list in ``output``; None where there is none (nothing was published there yet)."""
    path = output / NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInput.one(path, f"can't be read: {e}", _REBUILD) from None
    try:
        return Manifest.model_validate_json(text)
    except pydantic.ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidInput.one(path, f"not the list of what is published ({where}: {first['msg']})", _REBUILD) from None
