"""The MJML our templates generate passes the official MJML validator (the `mjml` npm package, pinned).

mjml-python, which compiles our MJML, doesn't validate: it silently drops an attribute it doesn't know
and copies an invalid value (padding="banana") into the CSS. The official compiler's validator catches both,
so every example newsletter, and one district variant of each, is run through it. Install it with
`npm ci --prefix tests/mjml` (.ci/run does).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from actionmail import check
from actionmail.render import render

ROOT = Path(__file__).resolve().parent.parent
MJML = ROOT / "tests" / "mjml" / "node_modules" / ".bin" / "mjml"
NEWSLETTERS = sorted((ROOT / "newsletters").glob("*.yaml"))

INVALID = """<mjml><mj-body><mj-section><mj-column>
<mj-text bogus-attr="1">Hello</mj-text>
</mj-column></mj-section></mj-body></mjml>
"""


@pytest.fixture(scope="module")
def mjml_bin() -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH: the official MJML validator needs Node.js")
    if not MJML.exists():
        pytest.fail(f"{MJML} is missing: run `npm ci --prefix tests/mjml`")
    return MJML


def strict_problems(mjml_bin: Path, files: list[Path]) -> list[str]:
    """What the official compiler says is wrong with ``files``, checked two ways; empty when all is well.

    `mjml --validate` runs the validator alone and exits 1 on any error, whatever the validation level.
    `mjml FILE -s --config.validationLevel=strict` compiles, and refuses to when the validator finds an error.
    """
    problems = []
    for args in (["--validate", *map(str, files)],
                 [*map(str, files), "-s", "--config.validationLevel=strict"]):  # fmt: skip
        command = [str(mjml_bin), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            problems.append(f"mjml {' '.join(args)} exited {result.returncode}:\n{result.stderr.strip()}")
    return problems


def rendered_variants(path: Path, directory: Path) -> list[Path]:
    """The MJML of ``path`` for readers whose district is unknown and for the first district, as files."""
    project, newsletter = check.load(path)
    files = []
    for district in [None, *project.officials.districts[:1]]:
        rendered = render(newsletter, project, district=district, slug=check.slug(path))
        name = path.stem + (f"-district-{district}" if district else "") + ".mjml"
        (directory / name).write_text(rendered.mjml, encoding="utf-8")
        files.append(directory / name)
    return files


def test_there_are_example_newsletters() -> None:
    assert NEWSLETTERS, "no newsletters/*.yaml to validate"


@pytest.mark.parametrize("path", NEWSLETTERS, ids=[p.stem for p in NEWSLETTERS])
def test_generated_mjml_passes_the_official_validator(mjml_bin: Path, path: Path, tmp_path: Path) -> None:
    files = rendered_variants(path, tmp_path)
    problems = strict_problems(mjml_bin, files)
    assert not problems, "\n\n".join(problems)


def test_validator_rejects_invalid_mjml(mjml_bin: Path, tmp_path: Path) -> None:
    """The check above could pass by running nothing; this shows that the same commands catch a bad file."""
    bad = tmp_path / "bad.mjml"
    bad.write_text(INVALID, encoding="utf-8")
    problems = strict_problems(mjml_bin, [bad])
    assert len(problems) == 2, problems
    assert all("(mj-text) — Attribute bogus-attr is illegal" in p for p in problems), problems


@pytest.mark.parametrize("path", NEWSLETTERS[:1], ids=[p.stem for p in NEWSLETTERS[:1]])
def test_validator_reads_our_generated_mjml(mjml_bin: Path, path: Path, tmp_path: Path) -> None:
    """An error slipped into our real output is caught, so the real output is what gets checked."""
    file = rendered_variants(path, tmp_path)[0]
    source = file.read_text(encoding="utf-8")
    assert "<mj-divider " in source
    file.write_text(source.replace("<mj-divider ", '<mj-divider padding="banana" ', 1), encoding="utf-8")
    problems = strict_problems(mjml_bin, [file])
    assert len(problems) == 2, problems
    assert all("(mj-divider) — Attribute padding has invalid value: banana" in p for p in problems), problems


@pytest.mark.parametrize("path", NEWSLETTERS, ids=[p.stem for p in NEWSLETTERS])
def test_html_is_no_larger_than_the_official_compilers_minified(mjml_bin: Path, path: Path, tmp_path: Path) -> None:
    """Our HTML (mjml-python, then css-inline) against `mjml --config.minify=true` on the same MJML: mjml-python
    doesn't minify, so what it writes beyond the official compiler (reset styles on every cell, the inlined CSS
    twice) shows here. Its warning that cssnano is missing only means the head's CSS isn't minified either."""
    project, newsletter = check.load(path)
    rendered = render(newsletter, project, slug=check.slug(path))
    source = tmp_path / "email.mjml"
    source.write_text(rendered.mjml, encoding="utf-8")
    output = tmp_path / "email.html"
    command = [str(mjml_bin), str(source), "-o", str(output), "--config.minify=true"]
    subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    official = output.read_text(encoding="utf-8")
    assert official.startswith("<!doctype html>")
    assert len(rendered.html.encode()) <= len(official.encode())
