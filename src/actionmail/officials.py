"""The directory of officials (``officials.yaml``): who can be called, at which numbers, and who represents whom.

A newsletter names targets by id (``official: durkan``) or by group (``group: district-councilmember``). A group
marked ``per_district`` is resolved for each reader's district; readers whose district is unknown get the
group's lookup link and the whole list instead of a blank.

Members live in several districts at once: a council district, a congressional district, a state senate and house
district. Each per-district group belongs to a *district set* (``set: congress``), and its members' ``district:``
values are districts of that set; a group without ``set:`` is in the default set, ``district``, the one the
``district`` column of the member list has always held. A group whose members all apply to every reader ("our
two U.S. Senators") is simply not per district.
"""

from __future__ import annotations

import collections
import datetime as dt
import difflib
from pathlib import Path
from typing import Any, Self

from pydantic import Field, ValidationInfo, field_validator, model_validator

from actionmail import load
from actionmail.fields import Email, Link, Model, Name, Phone, Slug, Text, Url, error


class LabelledPhone(Model):
    label: Text = Field(description='Which office: "City Hall", "District office", "DC office".')
    number: Phone
    hours: Text | None = Field(None, description='When someone answers, e.g. "Mon–Fri 9–5".')


class Official(Model):
    id: Slug = Field(description="How newsletters refer to this person, e.g. durkan.")
    name: Text
    title: Text = Field(description='"Mayor", "Councilmember", "State Senator".')
    office: Text | None = Field(None, description='"Seattle City Council, Position 8".')
    district: Name | None = Field(None, description="The district this official represents, if any.")
    phones: list[LabelledPhone] = []
    email: Email | None = None
    contact_form: Url | None = None
    term_end: dt.date | None = None
    verified: dt.date | None = Field(None, description="When these details were last checked against the source.")
    source: Url | None = Field(None, description="Where they were checked.")


DEFAULT_SET = "district"
"""The district set of a per-district group without ``set:``: the member list's ``district`` column."""


class Group(Model):
    id: Slug
    label: Text = Field(description='How the email names the group: "our at-large City Councilmembers".')
    members: list[Slug] = Field(min_length=1)
    per_district: bool = Field(False, description="Each reader contacts the member for their own district.")
    district_set: Slug | None = Field(
        None,
        alias="set",
        description="Which kind of district the members' `district:` values are (council, congress, "
        "state-senate, state-house): a member carries one district per set. Default: district (the member "
        "list's district column). Only for a per-district group.",
    )
    seats: int = Field(
        1, ge=1, le=20, description="How many members each district has (2 for a state house with two per district)."
    )
    lookup: Link | None = Field(None, description="Where readers find their district; required when per_district.")
    hotline: LabelledPhone | None = Field(None, description="A main line that reaches any member.")

    @property
    def set_name(self) -> str:
        """The district set this group's districts belong to."""
        return self.district_set or DEFAULT_SET

    @field_validator("members")
    @classmethod
    def _members_exist(cls, members: list[str], info: ValidationInfo) -> list[str]:
        known: dict[str, Any] = (info.context or {}).get("official_districts", {})
        for member in members:
            if member not in known:
                raise error("unknown_official", f"'{member}' is not in officials", did_you_mean(member, known))
        return members

    @model_validator(mode="after")
    def _districts(self, info: ValidationInfo) -> Self:
        if not self.per_district:
            if self.district_set is not None or self.seats != 1:
                key = "set" if self.district_set is not None else "seats"
                raise error(
                    "not_per_district",
                    f"'{key}:' is only for a per-district group, and this one is not per district",
                    f"add 'per_district: true' (each reader calls their own member), or delete '{key}:'",
                )
            return self
        if self.lookup is None:
            raise error(
                "lookup_missing",
                "a per-district group needs a lookup link for readers whose district is unknown",
                "add 'lookup: {text: Find your district, url: https://…}'",
            )
        known: dict[str, Any] = (info.context or {}).get("official_districts", {})
        districts = [known.get(m) for m in self.members]
        if None in districts:
            raise error(
                "no_district",
                "a per-district group needs a district for each member",
                "give each member a 'district:'",
            )
        crowded = [d for d, n in collections.Counter(districts).items() if n > self.seats]
        if crowded:
            if self.seats == 1:
                raise error(
                    "two_per_district",
                    f"two members have the same district ({crowded[0]})",
                    "list one member per district, or write 'seats: 2' where each district has two",
                )
            raise error(
                "too_many_per_district",
                f"more than {self.seats} members have the district {crowded[0]}",
                f"list at most {self.seats} members per district, or raise 'seats:'",
            )
        return self


class Directory(Model):
    officials: list[Official] = []
    groups: list[Group] = []

    @model_validator(mode="before")
    @classmethod
    def _note_ids(cls, data: Any, info: ValidationInfo) -> Any:
        # Groups name officials by id; share the ids (and districts) so each bad member is reported where it is.
        if isinstance(info.context, dict) and isinstance(data, dict) and isinstance(data.get("officials"), list):
            info.context["official_districts"] = {
                _as_name(o["id"]): _as_name(o.get("district"))
                for o in data["officials"]
                if isinstance(o, dict) and _as_name(o.get("id")) is not None
            }
        return data

    @field_validator("officials")
    @classmethod
    def _unique_ids(cls, officials: list[Official]) -> list[Official]:
        seen: set[str] = set()
        for official in officials:
            if official.id in seen:
                raise error("duplicate_id", f"the id '{official.id}' is used twice", "give each official its own id")
            seen.add(official.id)
        return officials

    @field_validator("groups")
    @classmethod
    def _one_set_each(cls, groups: list[Group]) -> list[Group]:
        # An official's `district:` is read in the set of the per-district groups that name them: one set each.
        sets: dict[str, Group] = {}
        for group in groups:
            for member in group.members if group.per_district else []:
                other = sets.setdefault(member, group)
                if other.set_name != group.set_name:
                    raise error(
                        "two_sets",
                        f"'{member}' is in the per-district groups '{other.id}' (set {other.set_name}) and "
                        f"'{group.id}' (set {group.set_name}), but has one district",
                        "an official represents a district of one set: check the groups' 'set:'",
                    )
        return groups

    def official(self, official_id: str) -> Official:
        return next(o for o in self.officials if o.id == official_id)

    def group(self, group_id: str) -> Group:
        return next(g for g in self.groups if g.id == group_id)

    def members_for(self, group: Group, district: str | None) -> list[Official]:
        """The members of a per-district group who represent ``district`` (one, or ``seats`` of them); none when
        the district is unknown, or not one of the group's."""
        if district is None:
            return []
        return [m for m in (self.official(i) for i in group.members) if m.district == district]

    @property
    def districts(self) -> list[str]:
        """Every district of the default set (:data:`DEFAULT_SET`) some per-district group covers, in directory
        order: what the member list's ``district`` column holds."""
        return self.districts_of(DEFAULT_SET)

    def districts_of(self, district_set: str) -> list[str]:
        """Every district of ``district_set`` that some per-district group covers, in directory order."""
        seen: dict[str, None] = {}
        for group in self.groups:
            if group.per_district and group.set_name == district_set:
                for member_id in group.members:
                    seen[self.official(member_id).district or ""] = None
        return list(seen)

    @property
    def sets(self) -> list[str]:
        """The district sets the per-district groups use: the default set first (when some group is in it), then
        the others in directory order."""
        found = dict.fromkeys(g.set_name for g in self.groups if g.per_district)
        return sorted(found, key=lambda name: name != DEFAULT_SET)

    @property
    def other_sets(self) -> dict[str, list[str]]:
        """Each district set other than the default one, with its districts."""
        return {name: self.districts_of(name) for name in self.sets if name != DEFAULT_SET}


def _as_name(value: Any) -> str | None:
    """An id or district as validation will make it (text; a bare number is text), or None for anything else:
    what the file holds here is not yet validated, and may be a list or a mapping."""
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return str(value).strip() or None
    return None


def did_you_mean(name: str, known: Any) -> str:
    guess = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
    return f"did you mean '{guess[0]}'?" if guess else "add it to officials.yaml, or check the id"


EMPTY = Directory()
# A directory may be long: all 535 members of Congress, with their offices, come to about 300 KB.
MAX_BYTES = 2 * 1024 * 1024


def load_directory(path: Path, region: str) -> Directory:
    """Read and validate ``officials.yaml``; a missing file is an empty directory."""
    if not path.exists():
        return EMPTY
    data, lines = load.read_yaml(path, max_bytes=MAX_BYTES)
    return load.validate(Directory, data if data is not None else {}, lines, path, {"region": region})


def district_option(option: str) -> tuple[str, str]:
    """A ``[SET=]DISTRICT`` as the command line takes it (``--district``), as (set, district): '3' is the default
    set's, 'congress=7' the set congress's."""
    name, sep, district = option.rpartition("=")
    return (name.strip() if sep else DEFAULT_SET), district.strip()
