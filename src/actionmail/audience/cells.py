"""What a member's value may hold once read: encoded words decoded, control characters out, districts found,
and the escapes `subscribers export` writes so that a spreadsheet never runs a cell as a formula.

Names, zip codes, districts and custom fields are merged into headers (the To name, a subject with
``{first_name}``), so a value must never be able to start a new header line. A CSV cell can carry a line break
as it is, or hidden in an RFC 2047 encoded word (``=?utf-8?q?Ev=0D=0ABcc:_a@evil.example?=``) that the email
package decodes when it parses the header; some Python releases then write the decoded line break out as it
is. So encoded words are decoded here, once, by our own code (its result does not depend on the Python
release), and what they decode to is checked like any other text.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Sequence

# An encoded word (RFC 2047 section 2; RFC 2231's *language suffix allowed), and the blank between two of them,
# which belongs to neither (section 6.2).
_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([QqBb])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(?<=\?=)[ \t\r\n]+(?==\?)")
# Control characters (Unicode's Cc: C0, DEL, C1), the line and paragraph separators, and a byte order mark:
# none belongs in a one-line value.
_ONE_LINE_BAD = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]+")
# In a custom field a line break is data (notes over several lines); every way of writing one becomes \n.
_LINE_BREAK = re.compile(r"\r\n|[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_MULTI_LINE_BAD = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ufeff]+")
_SUSPECT = re.compile(r"=\?|[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
_MAX_ROUNDS = 8  # an encoded word inside an encoded word inside…

# The columns `subscribers export` writes first, in this order; a file that starts with them is one of its
# exports, whose values carry its escapes.
EXPORT_COLUMNS = (
    "email",
    "first_name",
    "last_name",
    "district",
    "zip",
    "language",
    "tags",
    "status",
    "status_changed_at",
    "status_reason",
    "source",
    "created_at",
)
# What `subscribers export --all` adds, to be a backup: the member's id (unsubscribe links carry it), the
# address's entry on the suppression list, and its history (actionmail.audience.history, as JSON). Read only from
# a file that starts with EXPORT_COLUMNS: in any other file a column 'id' is somebody else's id.
BACKUP_COLUMNS = ("id", "suppressed", "suppressed_at", "suppression_detail", "suppression_source", "history")

# A spreadsheet runs a cell starting with one of these as a formula (OWASP's list); an apostrophe in front
# makes it text. A value that starts with an apostrophe gets one more, so reading back takes exactly one off.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def decode_encoded_words(text: str) -> str:
    """``text`` with its RFC 2047 encoded words decoded, repeatedly (one may hide another). What still looks
    like the start of one afterwards (a word that does not decode, or that a header parser might read more
    leniently than we do) is broken up, so that no header parser decodes anything in it."""
    for _ in range(_MAX_ROUNDS):
        if "=?" not in text:
            return text
        decoded = _ENCODED_WORD.sub(_decode_word, _BETWEEN_WORDS.sub("", text))
        if decoded == text:
            break
        text = decoded
    return text.replace("=?", "= ?")


def _decode_word(match: re.Match[str]) -> str:
    charset, encoding, payload = match[1], match[2].upper(), match[3]
    try:
        data = payload.encode("ascii")
        if encoding == "Q":
            raw = binascii.a2b_qp(data, header=True)
        else:
            raw = base64.b64decode(data + b"=" * (-len(data) % 4), validate=True)
        return raw.decode(charset, errors="replace")
    except (UnicodeError, LookupError, ValueError, TypeError):  # binascii.Error is a ValueError
        return match[0]


suspect = _SUSPECT.search
"""Whether :func:`clean_cell` might change a value (a match), or certainly not (None: most values)."""


def clean_cell(value: str, *, multi_line: bool = False) -> tuple[str, str | None]:
    """The value to store, and what was changed in it that the user should hear about (None: nothing).

    Encoded words are decoded, and control characters replaced by a space; in a ``multi_line`` value (a custom
    field) line breaks are kept, each as \\n.
    """
    if not _SUSPECT.search(value):
        return value, None
    decoded = decode_encoded_words(value)
    words = decoded != value
    if multi_line:
        decoded = _LINE_BREAK.sub("\n", decoded)  # the same line breaks, one way of writing them: nothing to say
        bad = _MULTI_LINE_BAD
    else:
        bad = _ONE_LINE_BAD
    found = sorted({char for run in bad.findall(decoded) for char in run})
    cleaned = " ".join(bad.split(decoded)) if found else decoded
    what = []
    if words:
        what.append("has RFC 2047 encoded words (=?charset?…?=), decoded or broken up")
    if found:
        codes = ", ".join(f"U+{ord(char):04X}" for char in found[:6]) + (", …" if len(found) > 6 else "")
        what.append(f"has control characters ({codes}), which could add a line to an email's headers")
    return cleaned, "; ".join(what) or None


def escape_formula(value: str) -> str:
    """A value as `subscribers export` writes it: one a spreadsheet would run as a formula starts with an
    apostrophe (and so does one that starts with an apostrophe already, so that :func:`unescape_formula` can
    tell the two apart)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def unescape_formula(value: str) -> str:
    """The value :func:`escape_formula` was given."""
    return value[1:] if value.startswith("'") else value


# 'District 3', 'Council District #3', 'Dist. 3', 'D3', 'district no. 03': the obvious ways to write '3'; and
# for the other district sets, 'Congressional District 9', 'CD 9', 'LD 43', 'Legislative District 43'.
_DISTRICT_WORDS = re.compile(
    r"(?:(?:city\s+)?council\s+|congressional\s+|legislative\s+)?(?:district|dist\.?|cd|ld|d)?\s*"
    r"(?:no\.?|number|num\.?|#)?\s*0*(?P<rest>.+)",
    re.IGNORECASE,
)


def find_district(value: str, known: Sequence[str]) -> str | None:
    """The district of ``known`` that ``value`` names, written as ``known`` writes it; None when it names none
    (or more than one)."""
    if value in known:
        return value
    text = " ".join(unicodedata.normalize("NFKC", value).split())
    wanted = {text.casefold(), _bare(text)}
    found = {district for district in known if {district.casefold(), _bare(district)} & wanted}
    return found.pop() if len(found) == 1 else None


def _bare(text: str) -> str:
    match = _DISTRICT_WORDS.fullmatch(text)
    return (match["rest"] if match else text).strip().casefold()
