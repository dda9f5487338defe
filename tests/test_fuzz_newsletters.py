"""Fuzz the newsletter loader: damaged copies of the examples load, or fail with FILE:LINE problems; nothing else.

Hypothesis draws each mutant's choices (tests/fuzzing.py makes them), so a failure shrinks to the fewest
mutations that cause it and is printed with what was done. A bounded, deterministic run here; a large one on
demand::

    ACTIONMAIL_FUZZ_CASES=5000 python -m pytest tests/test_fuzz_newsletters.py

docs/fuzzing.md has the results of the large runs, and the command that runs cases from plain seeds.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import fuzzing

CASES = int(os.environ.get("ACTIONMAIL_FUZZ_CASES", "150"))
CLI_CASES = int(os.environ.get("ACTIONMAIL_FUZZ_CLI_CASES", "3"))
# Nine levels of nine aliases: 387 million items, were they expanded.
LAUGHS = b"a0: &a0 [x]\n" + b"".join(
    b"a%d: &a%d [%s]\n" % (i, i, b", ".join([b"*a%d" % (i - 1)] * 9)) for i in range(1, 10)
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("fuzz")
    fuzzing.make_project(directory)
    return directory


@settings(
    max_examples=CASES,
    derandomize=True,  # the same cases on every run: CI is deterministic
    deadline=None,  # a case may take a second (rendering); hangs are caught by fuzzing.TIME_LIMIT
    database=None,
    # The autouse cache fixture is function-scoped; every case writes its own file, so sharing it is harmless.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rng=st.randoms(use_true_random=False))
def test_a_damaged_newsletter_loads_or_gets_file_line_problems(project: Path, rng: random.Random) -> None:
    what, data = fuzzing.mutant(rng)
    outcome = fuzzing.run_case(project / "newsletters" / "case.yaml", data)
    assert outcome.kind != "failure", f"{what}:\n{outcome.detail}"


@pytest.mark.parametrize("name", ["officials.yaml", "actionmail.toml"])
def test_a_damaged_officials_or_settings_file_gets_file_line_problems(
    tmp_path_factory: pytest.TempPathFactory, name: str
) -> None:
    """officials.yaml is read by the same loader; actionmail.toml by tomllib, with the same promise."""
    project = tmp_path_factory.mktemp("fuzz-project")
    fuzzing.make_project(project)
    example = project / "newsletters" / "example.yaml"
    example.write_bytes(fuzzing.EXAMPLES[0].read_bytes())
    make = fuzzing.officials_mutant if name == "officials.yaml" else fuzzing.settings_mutant

    @settings(max_examples=max(CASES // 3, 10), derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
    @given(rng=st.randoms(use_true_random=False))
    def damaged(rng: random.Random) -> None:
        what, data = make(rng)
        outcome = fuzzing.run_case(project / name, data, render=False, newsletter=example)
        assert outcome.kind != "failure", f"{what}:\n{outcome.detail}"

    damaged()


@pytest.mark.parametrize("seed", range(CLI_CASES))
def test_check_and_render_of_a_damaged_newsletter_exit_0_or_2(project: Path, seed: int) -> None:
    """The commands as run from a shell: exit 0 or 2, FILE:LINE messages, never a traceback."""
    what, data = fuzzing.mutant(random.Random(seed))
    outcome = fuzzing.run_cli(project, project / "newsletters" / f"cli-{seed}.yaml", data)
    assert outcome.kind == "ok", f"{what}:\n{outcome.detail}"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"subject: x\x00\n", id="nul"),
        pytest.param(LAUGHS, id="billion-laughs"),
        pytest.param(b"title: " + b"[" * 100_000, id="deep"),
    ],
)
def test_hostile_files_through_the_commands(project: Path, data: bytes) -> None:
    outcome = fuzzing.run_cli(project, project / "newsletters" / "hostile.yaml", data)
    assert outcome.kind == "ok", outcome.detail
