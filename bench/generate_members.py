"""Generate fictional members as a Mailchimp audience export, for sample/members.csv and the benchmarks.

    .venv/bin/python bench/generate_members.py --count 1000 --seed 2019 -o sample/members.csv

The same count and seed always give the same file. Addresses are only at example.org, example.com and
example.net (reserved for examples: nothing is ever delivered there). Members are spread over Seattle's seven
City Council districts with about 8% whose district is unknown, about 15% read Spanish, and some carry tags.
The columns are those of a Mailchimp export (merge fields for Zip Code, District and Language, then
Mailchimp's own MEMBER_RATING … NOTES, TAGS), so `actionmail subscribers import` reads it unchanged.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
import unicodedata
from typing import TextIO


def words(text: str) -> list[str]:
    return text.split()


FIRST = words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan "
    "Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Sandra "
    "Mark Ashley Emily Hannah Olivia Noah Liam Ava Ethan Mia Aaliyah Jamal Keisha Darnell Priya Arjun Wei Mei "
    "Kenji Yuki Hana Minh Thảo Linh Duc Ji-woo Min-jun Fatima Mohamed Amina Abdi Hodan Tesfaye Selam Olga "
    "Dmitri Zoë Renée Chloé François Joël Noémie Björn Łukasz Siobhán Dagný Søren Anaïs Maëlle Zoé"
)
FIRST_ES = words(
    "José María Sofía Inés Lucía Andrés Raúl Héctor Martín Jesús Ramón Ángel Valentina Camila Mateo Santiago "
    "Diego Carmen Rocío Adrián Julián Iván Guadalupe Alejandro Fernanda Ximena Joaquín Elena Pilar Tomás"
)
LAST = words(
    "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Jackson Martin "
    "Thompson White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Hill Green Adams Baker "
    "Nelson Carter Mitchell Roberts Turner Phillips Campbell Parker Evans Edwards Collins Stewart Murphy Cook "
    "Rogers O'Brien Nguyễn Trần Lê Phạm Kim Lee Park Chen Wang Li Zhang Yamamoto Tanaka Singh Patel Abdi "
    "Mohamud Tesfaye Haile Müller Sørensen Øvergård Kowalski Nowak Brontë Lindqvist"
)
LAST_ES = words(
    "García Martínez Hernández López González Pérez Sánchez Ramírez Torres Flores Rivera Gómez Díaz Cruz "
    "Morales Reyes Gutiérrez Ortiz Ramos Ruiz Peña Muñoz Ibáñez Fernández Jiménez Castañeda Vásquez Domínguez "
    "Núñez"
)
# Zip codes by City Council district (approximate: several zip codes straddle district lines).
ZIPS = {
    "1": ["98106", "98116", "98126", "98136", "98146"],
    "2": ["98108", "98118", "98144", "98178"],
    "3": ["98102", "98112", "98122", "98144"],
    "4": ["98105", "98115"],
    "5": ["98125", "98133", "98155"],
    "6": ["98103", "98107", "98117"],
    "7": ["98101", "98104", "98109", "98119", "98121", "98199"],
}
ZIPS_ELSEWHERE = ["98004", "98052", "98033", "98056", "98011", ""]  # Bellevue, Redmond, … or none given
TAGS = [("volunteer", 0.25), ("phonebank", 0.10), ("canvass", 0.08), ("donor", 0.12), ("host", 0.03)]
TAGS_RARE = ["rapid response", "data team", "spanish translation"]
DOMAINS = ["example.org", "example.com", "example.net"]
HEADER = [
    "Email Address",
    "First Name",
    "Last Name",
    "Zip Code",
    "District",
    "Language",
    "MEMBER_RATING",
    "OPTIN_TIME",
    "OPTIN_IP",
    "CONFIRM_TIME",
    "CONFIRM_IP",
    "LATITUDE",
    "LONGITUDE",
    "GMTOFF",
    "DSTOFF",
    "TIMEZONE",
    "CC",
    "REGION",
    "LAST_CHANGED",
    "LEID",
    "EUID",
    "NOTES",
    "TAGS",
]
START = dt.datetime(2017, 1, 21, 9, 0, 0)


def ascii_name(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.replace("Ø", "O").replace("ø", "o").replace("Ł", "L"))
    return "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c == "-")).lower()


def generate(out: TextIO, count: int, seed: int) -> None:
    rng = random.Random(seed)
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(HEADER)
    used: set[str] = set()
    for number in range(1, count + 1):
        spanish = rng.random() < 0.15
        hispanic_name = rng.random() < (0.8 if spanish else 0.12)
        first = rng.choice(FIRST_ES if hispanic_name else FIRST)
        last = rng.choice(LAST_ES if hispanic_name else LAST)
        base = f"{ascii_name(first)}{rng.choice(['.', '', '_'])}{ascii_name(last)}"
        domain = rng.choice(DOMAINS)
        local, n = base, 1
        while f"{local}@{domain}" in used:
            n += 1
            local = f"{base}{n}"
        used.add(f"{local}@{domain}")
        email = f"{local}@{domain}"
        if rng.random() < 0.05:  # some people type their address capitalized
            email = f"{local.capitalize()}@{domain.capitalize()}"
        if rng.random() < 0.08:
            district, zip_code = "", rng.choice(ZIPS_ELSEWHERE)
        else:
            district = rng.choice(sorted(ZIPS))
            zip_code = rng.choice(ZIPS[district])
        tags = [tag for tag, share in TAGS if rng.random() < share]
        if rng.random() < 0.02:
            tags.append(rng.choice(TAGS_RARE))
        optin = START + dt.timedelta(seconds=rng.randrange(0, 3 * 365 * 86400))
        confirm = optin + dt.timedelta(seconds=rng.randrange(30, 7200))
        changed = confirm + dt.timedelta(days=rng.randrange(0, 300))
        writer.writerow(
            [
                email,
                first,
                last,
                zip_code,
                district,
                "es" if spanish else "en",
                str(rng.choice([1, 2, 2, 3, 3, 4, 5])),
                optin.strftime("%Y-%m-%d %H:%M:%S"),
                "",
                confirm.strftime("%Y-%m-%d %H:%M:%S"),
                f"192.0.2.{rng.randrange(1, 255)}",  # TEST-NET-1, documentation addresses
                f"{47.55 + rng.random() * 0.17:.7f}" if district else "",
                f"{-122.42 + rng.random() * 0.16:.7f}" if district else "",
                "-8",
                "-7",
                "America/Los_Angeles",
                "US",
                "WA",
                changed.strftime("%Y-%m-%d %H:%M:%S"),
                str(100000000 + number),
                f"{rng.getrandbits(40):010x}",
                "",
                ",".join(f'"{tag}"' for tag in tags),
            ]
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("-o", "--output", help="the CSV file to write (default: standard output)")
    args = parser.parse_args()
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            generate(out, args.count, args.seed)
    else:
        generate(sys.stdout, args.count, args.seed)


if __name__ == "__main__":
    main()
