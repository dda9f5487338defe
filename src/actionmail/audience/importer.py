"""Reading members from CSV exports: which column is what, and what is wrong with a row.

Column headers are matched ignoring case and punctuation, so Mailchimp's "Email Address", Action Network's
``email`` and this store's own export all land in the same place. Mailchimp's bookkeeping columns
(MEMBER_RATING, OPTIN_TIME, LATITUDE, …) are dropped; any other column becomes a custom field.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import difflib
import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from unicodedata import normalize

from actionmail.audience import csvlines, history
from actionmail.audience.cells import (
    BACKUP_COLUMNS,
    EXPORT_COLUMNS,
    clean_cell,
    find_district,
    suspect,
    unescape_formula,
)
from actionmail.audience.firstlines import FirstLines
from actionmail.audience.model import (
    DEFAULT_SET,
    BadAddress,
    BadLanguage,
    Incoming,
    Status,
    Suppressed,
    clean_tags,
    clean_text,
    email_key,
    field_name,
    normalize_email,
    normalize_language,
    now,
    parse_time,
)
from actionmail.errors import InvalidInput, Problem, Severity, UsageError, shown

# What a column holds, from its header with case and everything but letters and digits removed.
_ROLES = {
    "email": "email",
    "emailaddress": "email",
    "firstname": "first_name",
    "fname": "first_name",
    "givenname": "first_name",
    "lastname": "last_name",
    "lname": "last_name",
    "surname": "last_name",
    "familyname": "last_name",
    "district": "district",
    "councildistrict": "district",
    "zip": "zip",
    "zipcode": "zip",
    "postalcode": "zip",
    "postcode": "zip",
    "language": "language",
    "lang": "language",
    "preferredlanguage": "language",
    "tags": "tags",
    "can2usertags": "tags",  # Action Network
    "status": "status",
    "can2subscriptionstatus": "status",  # Action Network
    "statuschangedat": "status_changed_at",
    "statusreason": "status_reason",
    "source": "source",
    "createdat": "created_at",
    # Mailchimp's unsubscribed export has UNSUB_*; its cleaned (bounced) export has CLEAN_*.
    "unsubtime": "unsubscribed_at",
    "unsubreason": "status_reason",
    "unsubreasonother": "status_reason_other",
    "cleantime": "bounced_at",
}
# Mailchimp's bookkeeping: ratings, opt-in records, geolocation, internal ids.
_NOISE = {
    "memberrating",
    "optintime",
    "optinip",
    "confirmtime",
    "confirmip",
    "latitude",
    "longitude",
    "gmtoff",
    "dstoff",
    "timezone",
    "cc",
    "region",
    "lastchanged",
    "leid",
    "euid",
    "notes",
    "unsubcampaigntitle",
    "unsubcampaignid",
    "cleancampaigntitle",
    "cleancampaignid",
}
MAP_TARGETS = ("email", "first_name", "last_name", "district", "zip", "language", "tags")
_MAP_FIX = (
    "use email, first_name, last_name, district, district.SET (a district set of officials.yaml, like "
    "district.congress), zip, language, tags, field.NAME, or - to ignore the column"
)
SET_PREFIX = "district."  # a column of another district set: 'district.congress' (as a header, or --map's field)
_STATUSES = {
    "active": Status.ACTIVE,
    "subscribed": Status.ACTIVE,
    "unsubscribed": Status.UNSUBSCRIBED,
    "bounced": Status.BOUNCED,
    "bouncing": Status.BOUNCED,  # Action Network
    "cleaned": Status.BOUNCED,  # Mailchimp
    "complained": Status.COMPLAINED,
    "spamcomplaint": Status.COMPLAINED,  # Action Network
}


def _squash(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", header.lower())


@dataclass(frozen=True, slots=True)
class Column:
    index: int
    header: str
    role: str  # one of _ROLES' values, 'field' or 'ignore'
    field: str | None = None
    guessed: bool = False  # a custom field only because its header is not one we know


@dataclass(frozen=True, slots=True)
class BadRow:
    problems: list[Problem]


@dataclass(slots=True)  # not frozen: a frozen dataclass takes four times as long to make, one per row
class _Read:
    """A row read, before its address is looked up among the earlier rows': the member after the warnings about
    them, or the problems that keep the row out."""

    line: int
    key: str  # empty when the row has no valid address
    address: str
    problems: list[Problem]
    warnings: list[Problem]
    member: Incoming | None  # None when there are problems


_CHUNK = 5000  # rows read before their addresses are looked up among the earlier rows' (see firstlines)


@dataclass
class CsvMembers:
    path: Path
    dialect: type[csv.Dialect]
    header_lines: int
    columns: list[Column]
    custom_fields: list[tuple[str, str]] = field(default_factory=list)
    escaped: bool = False  # written by `subscribers export`, whose values a spreadsheet cannot run as formulas

    def rows(
        self, known_districts: Sequence[str], source: str, known_sets: Mapping[str, Sequence[str]] | None = None
    ) -> Iterator[Incoming | Suppressed | BadRow | Problem]:
        """Each record of the file, as a member (after the warnings about it, as Problems) or as the problems
        that keep it out; lines that cannot be read as a row are reported as bad rows of their own.
        ``known_sets``: each district set's districts in officials.yaml, for the columns of other sets."""
        record = _Record(self, known_districts, source, known_sets)
        email_column = next(c.index for c in self.columns if c.role == "email")
        file = shown(self.path)
        try:
            f = self.path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
        except OSError as e:
            raise UsageError(f"cannot read {file} ({e.strerror}): check the path") from None
        with f, FirstLines() as first_lines:
            rows: list[_Read | Suppressed | BadRow] = []
            for item in csvlines.records(f, self.dialect, self.header_lines, email_column):
                if isinstance(item, csvlines.Damage):
                    rows.append(BadRow([Problem(file, item.line, "", item.what, item.fix)]))
                elif "".join(item.cells).strip():  # not a blank line, or a row of empty cells
                    rows.append(record.read(item.line, item.cells))
                if len(rows) >= _CHUNK:
                    yield from record.settle(rows, first_lines)
                    rows = []
            yield from record.settle(rows, first_lines)


class _Record:
    """Reads one record after another; then, a chunk of them at a time, finds those whose address is on an
    earlier line."""

    def __init__(
        self,
        members: CsvMembers,
        known_districts: Sequence[str],
        source: str,
        known_sets: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.file = shown(members.path)
        self.by_role = {c.role: c for c in members.columns if c.role not in ("field", "ignore")}
        self.roles = [(role, column) for role, column in self.by_role.items() if role != "email"]
        self.width = max(column.index for column in members.columns) + 1
        # Whether any column says something of the member's status; whether the file is a backup (its columns
        # are only read from one of our exports: see open_csv).
        self.statuses = bool(self.by_role.keys() & {"status", "status_changed_at", "unsubscribed_at", "bounced_at"})
        self.backup = bool(self.by_role.keys() & set(BACKUP_COLUMNS))
        self.fields = [c for c in members.columns if c.role == "field" and c.field]
        self.known_districts = known_districts
        # The columns of other district sets (role 'district.SET'): most files have none, and then a row costs
        # nothing more than before.
        self.sets = [
            (role[len(SET_PREFIX) :], column) for role, column in self.by_role.items() if role.startswith(SET_PREFIX)
        ]
        self.known_sets = known_sets or {}
        # find_district's answer for each (set, cell) met: a file writes the same few districts ('CD 9') on
        # every row, and each lookup compares the cell with every district of its set.
        self.found: dict[tuple[str, str], str | None] = {}
        self.source = source
        self.escaped = members.escaped
        self.cells: list[str] = []
        self.values: dict[str, str | None] = {}  # the row's cell for each role, as cell() gives it
        self.email: str | None = None  # the row's address, as raw() gives it
        self.email_index = self.by_role["email"].index
        self.line = 0
        self.problems: list[Problem] = []
        self.warnings: list[tuple[int, Problem]] = []  # with their column's index, to report them in its order

    def raw(self, column: Column) -> str | None:
        if column.index >= len(self.cells):
            return None
        value = self.cells[column.index]
        return clean_text(unescape_formula(value) if self.escaped else value)

    def cell(self, role: str) -> str | None:
        """The row's cell for ``role`` as stored (see :meth:`value`); None where the file has no such column."""
        return self.values.get(role)

    def read_values(self) -> None:
        """Each role's cell, once: most of a file's dozen roles are not among its columns, and a role is asked
        for in several places."""
        cells = self.cells
        joined = "".join(cells)
        # Nearly every row: all columns there, and none that value() could change: no character outside the
        # printable ones (among which suspect() finds nothing) and no "=?". (Two string methods: suspect()
        # over the whole row took longer than over each cell.) clean_text() inline: this runs for each of a
        # million members' cells.
        if not self.escaped and len(cells) >= self.width and joined.isprintable() and "=?" not in joined:
            self.email = normalize("NFC", cells[self.email_index]).strip() or None
            self.values = {role: normalize("NFC", cells[column.index]).strip() or None for role, column in self.roles}
            return
        self.email = self.raw(self.by_role["email"])
        self.values = {role: self.value(column) for role, column in self.roles if column.index < len(cells)}

    def value(self, column: Column, *, multi_line: bool = False) -> str | None:
        """A cell as stored: trimmed, encoded words decoded, control characters out (with a warning)."""
        if column.index >= len(self.cells):
            return None
        text = self.cells[column.index]
        if self.escaped:
            text = unescape_formula(text)
        if not suspect(text):  # nearly every cell: the same as raw(), a regex search sooner
            return clean_text(text)
        value = clean_text(text)
        if value is None:
            return None
        cleaned, change = clean_cell(value, multi_line=multi_line)
        if change is None:
            return value
        result = clean_text(cleaned)
        shown_value = "nothing" if result is None else repr(result)
        self.warn(column, change, f"imported as {shown_value}; correct it if that is wrong")
        return result

    def problem(self, role: str, what: str, fix: str) -> None:
        self.problems.append(Problem(self.file, self.line, self.by_role[role].header, what, fix))

    def warn(self, column: Column, what: str, fix: str) -> None:
        self.warnings.append((column.index, Problem(self.file, self.line, column.header, what, fix, Severity.WARNING)))

    def settle(
        self, rows: list[_Read | Suppressed | BadRow], first_lines: FirstLines
    ) -> list[Incoming | Suppressed | BadRow | Problem]:
        """``rows`` in file order, those whose address is on an earlier line as bad rows; the others' addresses
        are remembered with their lines."""
        read = [row for row in rows if isinstance(row, _Read)]
        first: dict[str, int] = {}
        # Nearly always every address is new, and then only bad rows' need looking up (a duplicate's problem
        # comes first among its row's).
        if not first_lines.add([(row.key, row.line) for row in read if row.member]) or any(
            row.key for row in read if row.problems
        ):
            first = first_lines.find([row.key for row in read if row.key])
        settled: list[Incoming | Suppressed | BadRow | Problem] = []
        for row in rows:
            if not isinstance(row, _Read):
                settled.append(row)
                continue
            if first and row.key in first and first[row.key] < row.line:
                row.problems.insert(
                    0,
                    Problem(
                        self.file,
                        row.line,
                        self.by_role["email"].header,
                        f"{row.address} is already on line {first[row.key]}",
                        "keep one of the two rows (the first was imported)",
                    ),
                )
            if row.problems or row.member is None:
                settled.append(BadRow(row.problems))
                continue
            if row.warnings:
                settled.extend(row.warnings)
            settled.append(row.member)
        return settled

    def read(self, line: int, cells: list[str]) -> _Read | Suppressed | BadRow:
        self.line, self.cells, self.problems, self.warnings = line, cells, [], []
        self.read_values()
        cell = self.values.get
        if self.backup and "suppressed" in self.by_role and cell("status") is None:
            return self.suppression_only()
        address = key = ""
        # The address is validated as it is: decoding or cleaning it could turn garbage into someone's address.
        raw_email = self.email
        if raw_email is None:
            self.problem("email", "no email address", "add the address, or delete the row")
        else:
            try:
                address = normalize_email(raw_email)
            except BadAddress as e:
                self.problem("email", f"'{raw_email}' is not a valid email address ({e})", "correct it")
            else:
                key = email_key(address)
        district = cell("district")
        if district is not None and self.known_districts and district not in self.known_districts:
            district = self.district(district)
        language = cell("language")
        if language is not None:
            try:
                language = normalize_language(language)
            except BadLanguage:
                self.warn(
                    self.by_role["language"],
                    f"'{language}' is not a language actionmail knows, so the member was imported without one",
                    "write a code like en or es and import the file again",
                )
                language = None
        status, status_at = self.status() if self.statuses else (None, None)
        suppression = member_id = None
        if self.backup:
            suppression = self.suppression(key)
            member_id = cell("id")
            if member_id is not None and not re.fullmatch(r"[1-9][0-9]{0,17}", member_id):
                self.problem("id", f"'{member_id}' is not a member id", "leave the cell empty")
        if self.problems:
            return _Read(line, key, address, self.problems, [], None)
        reason = cell("status_reason")
        if other := cell("status_reason_other"):
            reason = f"{reason}: {other}" if reason else other
        tags = cell("tags")
        fields = {}
        for column in self.fields:
            if column.field and (value := self.value(column, multi_line=True)):
                fields[column.field] = value
        created = cell("created_at")
        districts = self.other_districts() if self.sets else None
        incoming = Incoming(
            email=address,
            key=key,
            first_name=cell("first_name"),
            last_name=cell("last_name"),
            district=district,
            zip=cell("zip"),
            language=language,
            tags=_tags(tags) if tags else (),
            fields=fields,
            districts=districts,
            status=status,
            status_changed_at=status_at,
            status_reason=reason,
            source=cell("source") or self.source,
            created_at=parse_time(created) if created else None,
            id=int(member_id) if member_id is not None else None,
            suppression=suppression,
            history=self.history() if self.backup else None,
            changed_by=self.source,
        )
        if self.warnings:
            self.warnings.sort(key=lambda warning: warning[0])
        return _Read(line, key, address, [], [warning for _, warning in self.warnings], incoming)

    def suppression(self, key: str) -> Suppressed | None:
        """The address's entry on the suppression list, from a backup's columns."""
        written = self.cell("suppressed")
        if written is None:
            return None
        reason = _STATUSES.get(_squash(written))
        if reason is None or reason is Status.ACTIVE:
            self.problem(
                "suppressed", f"'{written}' is not a reason to suppress", "use unsubscribed, bounced or complained"
            )
            return None
        return Suppressed(
            key,
            reason,
            parse_time(self.cell("suppressed_at")) or now(),
            self.cell("suppression_detail"),
            self.cell("suppression_source"),
        )

    def suppression_only(self) -> Suppressed | BadRow:
        """A backup's row for an address on the suppression list that is not a member. Its key is kept as it
        is even when it is not a valid address: the list is restored as it was."""
        raw = self.raw(self.by_role["email"])
        if raw is None:
            self.problem("email", "no email address", "add the address, or delete the row")
            return BadRow(self.problems)
        try:
            key = email_key(normalize_email(raw))
        except BadAddress:
            key = email_key(raw)
        entry = self.suppression(key)
        return BadRow(self.problems) if entry is None else dataclasses.replace(entry, history=self.history() or ())

    def history(self) -> tuple[history.Entry, ...] | None:
        """A backup's history of the address; None (with a warning: the member is imported all the same) if the
        cell is not what an export writes, or where the file has no such column."""
        if "history" not in self.by_role:
            return None
        written = self.cell("history")
        if written is None:
            return ()
        try:
            return history.from_cell(written)
        except history.BadHistory as e:
            self.warn(self.by_role["history"], f"the history is not what an export writes ({e})", "it was left out")
            return None

    def district(self, written: str) -> str | None:
        """The district, as officials.yaml writes it ('District 3' is 3); one it does not know is left out with a
        warning: a member is never lost over one cell."""
        found = self.find(DEFAULT_SET, written, self.known_districts)
        if found is None:
            self.warn(
                self.by_role["district"],
                f"'{written}' is not a district in officials.yaml (known: {', '.join(self.known_districts)}), so "
                "the member was imported without a district",
                "correct it and import the file again, or leave the cell empty",
            )
        return found

    def find(self, district_set: str, written: str, known: Sequence[str]) -> str | None:
        """:func:`find_district`, once per district set and cell text."""
        key = (district_set, written)
        if key not in self.found:
            self.found[key] = find_district(written, known)
        return self.found[key]

    def other_districts(self) -> dict[str, str]:
        """The row's districts of the other sets, each as officials.yaml writes it; one it does not know is left
        out with a warning, as the default set's is."""
        found: dict[str, str] = {}
        for name, column in self.sets:
            written = self.values.get(f"{SET_PREFIX}{name}")
            if written is None:
                continue
            known = self.known_sets.get(name)
            if not known or written in known:
                found[name] = written
                continue
            district = self.find(name, written, known)
            if district is None:
                self.warn(
                    column,
                    f"'{written}' is not a {name} district in officials.yaml (known: {', '.join(known)}), so the "
                    f"member was imported without a {name} district",
                    "correct it and import the file again, or leave the cell empty",
                )
            else:
                found[name] = district
        return found

    def status(self) -> tuple[Status | None, dt.datetime | None]:
        if "unsubscribed_at" in self.by_role:  # Mailchimp's export of unsubscribed members
            return Status.UNSUBSCRIBED, parse_time(self.cell("unsubscribed_at"))
        if "bounced_at" in self.by_role:  # Mailchimp's export of cleaned (bounced) members
            return Status.BOUNCED, parse_time(self.cell("bounced_at"))
        at = parse_time(changed) if (changed := self.cell("status_changed_at")) else None
        written = self.cell("status")
        if written is None:
            return None, at
        status = _STATUSES.get(_squash(written))
        if status is None:
            self.problem(
                "status",
                f"'{written}' is not a subscription status",
                "use active, unsubscribed, bounced or complained (or Action Network's subscribed, bouncing, "
                "spam complaint)",
            )
        return status, at


@functools.lru_cache(maxsize=1024)  # a list has few combinations of tags, and most members have none or one
def _tags(cell: str) -> tuple[str, ...]:
    return clean_tags(split_tags(cell))


def split_tags(cell: str) -> list[str]:
    """Tags from one cell: Mailchimp writes ``"volunteer","phone bank"``, others ``volunteer, phone bank``."""
    return next(csv.reader([cell], skipinitialspace=True), [])


def open_csv(path: Path, mapping: Mapping[str, str]) -> CsvMembers:
    """Check that ``path`` is a readable CSV of members and work out its columns from its first line; raise if
    it is not."""
    try:
        with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
            header_lines, first = 1, f.readline()
            while first and not first.strip():  # blank lines before the header
                header_lines, first = header_lines + 1, f.readline()
    except OSError as e:
        raise UsageError(f"cannot read {shown(path)} ({e.strerror}): check the path") from None
    if not first.strip():
        raise InvalidInput.one(path, "the file is empty", "export the members again", line=1)
    if undecodable := re.search(r"[\udc80-\udcff]", first):
        raise InvalidInput.one(
            path,
            f"not UTF-8 text (byte 0x{ord(undecodable[0]) - 0xDC00:02x} at character {undecodable.start() + 1}; "
            "the file was probably saved as Windows-1252 or Latin-1), so nothing was imported",
            "save it as UTF-8 — in Excel, Save As, 'CSV UTF-8 (Comma delimited)'; in Google Sheets, File, "
            "Download, CSV — and import it again",
            line=header_lines,
        )
    dialect = _sniff(first)
    try:
        header = next(csv.reader([first], dialect), [])
    except csv.Error as e:  # a header cell over the size limit
        raise InvalidInput.one(
            path,
            f"cannot read the header line as CSV ({e}), so nothing was imported",
            "the first line should hold the column names, like Email Address,First Name",
            line=header_lines,
        ) from None
    if any("\n" in title or "\r" in title for title in header):
        raise InvalidInput.one(
            path,
            "the quote opened here never closes, so the header line cannot be read and nothing was imported",
            "close it, or remove it, and import the file again",
            line=header_lines,
        )
    columns = _columns(path, [h.strip() for h in header], mapping, header_lines)
    custom = [(c.header, c.field) for c in columns if c.guessed and c.field]
    escaped = [h.strip() for h in header[: len(EXPORT_COLUMNS)]] == list(EXPORT_COLUMNS)
    if escaped:  # one of our exports: its backup columns are what they say
        columns = [Column(c.index, c.header, c.header) if c.header in BACKUP_COLUMNS else c for c in columns]
        custom = [(column, name) for column, name in custom if column not in BACKUP_COLUMNS]
    return CsvMembers(path, dialect, header_lines, columns, custom, escaped)


def _sniff(header_line: str) -> type[csv.Dialect]:
    """The CSV dialect, from the header line: comma, semicolon (spreadsheets in many locales) or tab."""
    try:
        dialect = csv.Sniffer().sniff(header_line, delimiters=",;\t")
    except csv.Error:
        # One column, or no delimiter Sniffer is sure of: count them.
        counts = {d: header_line.count(d) for d in ",;\t"}
        delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    else:
        delimiter = dialect.delimiter

    class Dialect(csv.excel):
        pass

    Dialect.delimiter = delimiter
    return Dialect


def _columns(path: Path, header: list[str], mapping: Mapping[str, str], line: int = 1) -> list[Column]:
    """What each column holds: by ``mapping`` (column → field) first, then by its header."""
    by_header: dict[int, str] = {}
    for wanted, to in mapping.items():
        found = _find(header, wanted)
        if found is None:
            raise UsageError(
                f"--map '{wanted}={to}': {shown(path)} has no column '{wanted}' "
                f"(its columns: {', '.join(h for h in header if h)}): check the name"
            )
        by_header[found] = to
    columns: list[Column] = []
    names: set[str] = set()
    for index, title in enumerate(header):
        target = by_header.get(index)
        if target is not None:
            if target == "-":
                columns.append(Column(index, title, "ignore"))
            elif target.startswith("field."):
                columns.append(Column(index, title, "field", field_name(target[len("field.") :])))
            elif target.startswith(SET_PREFIX):
                columns.append(Column(index, title, _set_role(target)))
            else:
                columns.append(Column(index, title, target))
            continue
        squashed = _squash(title)
        if title.lower().startswith("field.") and field_name(title[len("field.") :]):
            columns.append(Column(index, title, "field", field_name(title[len("field.") :])))
        elif title.lower().startswith(SET_PREFIX) and _set_role(title):
            columns.append(Column(index, title, _set_role(title)))
        elif squashed in _ROLES:
            columns.append(Column(index, title, _ROLES[squashed]))
        elif squashed in _NOISE or not squashed:
            columns.append(Column(index, title, "ignore"))
        else:
            columns.append(Column(index, title, "field", field_name(title) or f"column_{index + 1}", guessed=True))
    # Two columns for one thing: ambiguous. Two custom fields with one name: number them.
    seen: dict[str, Column] = {}
    for i, column in enumerate(columns):
        if column.role == "field" and column.field is not None:
            name = column.field
            suffix = 2
            while name in names:
                name, suffix = f"{column.field}_{suffix}", suffix + 1
            names.add(name)
            columns[i] = Column(column.index, column.header, "field", name, column.guessed)
        elif column.role not in ("field", "ignore", "status_reason", *BACKUP_COLUMNS):
            if column.role in seen:
                raise InvalidInput.one(
                    path,
                    f"columns '{seen[column.role].header}' and '{column.header}' both look like {column.role}",
                    f"pass --map '{column.header}=-' to ignore one, or --map to say what each holds",
                    line=line,
                )
            seen[column.role] = column
    if "email" not in seen:
        raise InvalidInput.one(
            path,
            f"no email column (the columns are: {', '.join(h for h in header if h)})",
            "name it 'Email Address' or 'email', or pass --map COLUMN=email",
            line=line,
        )
    return columns


def _find(header: list[str], column: str) -> int | None:
    for index, title in enumerate(header):
        if title == column.strip():
            return index
    for index, title in enumerate(header):
        if _squash(title) == _squash(column) and _squash(column):
            return index
    return None


def parse_map_option(option: str) -> tuple[str, str]:
    """One ``--map COLUMN=field`` option as (column, field); a :class:`UsageError` if it is not one."""
    column, sep, target = option.rpartition("=")
    target = target.strip()
    if not sep or not column.strip():
        raise UsageError(f"--map '{option}': not COLUMN=field: write it like --map 'Zip Code=zip'")
    if target == "-" or target in MAP_TARGETS:
        return column.strip(), target
    if target.startswith("field.") and field_name(target[len("field.") :]):
        return column.strip(), target
    if target.startswith(SET_PREFIX) and _set_role(target):
        return column.strip(), _set_role(target)
    raise UsageError(f"--map '{option}': unknown field '{target}': {_MAP_FIX}")


def check_sets(members: CsvMembers, known_sets: Mapping[str, Sequence[str]]) -> None:
    """Raise, before anything is imported, if a column is of a district set that officials.yaml does not have."""
    for column in members.columns:
        if column.role.startswith(SET_PREFIX) and column.role[len(SET_PREFIX) :] not in known_sets:
            name = column.role[len(SET_PREFIX) :]
            others = [s for s in known_sets if s != DEFAULT_SET]
            guess = difflib.get_close_matches(name, others, n=1, cutoff=0.5)
            raise InvalidInput.one(
                members.path,
                f"the column '{column.header}' holds {column.role}, but officials.yaml has no district set '{name}' "
                f"(its other sets: {', '.join(others) or 'none'})",
                f"did you mean {SET_PREFIX}{guess[0]}?"
                if guess
                else "add 'set: " + name + "' to its per-district "
                "groups in officials.yaml, or --map the column to another field",
                line=members.header_lines,
            )


def _set_role(target: str) -> str:
    """The role of a column of another district set: 'district.SET', the set's name as officials.yaml writes it
    (lowercase, hyphens between words: 'District.State House' is 'district.state-house'); empty if there is none."""
    name = re.sub(r"[^a-z0-9]+", "-", target[len(SET_PREFIX) :].lower()).strip("-")
    return f"{SET_PREFIX}{name}" if name and name != "district" else ""
