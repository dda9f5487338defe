"""The settings file is the config layer's: providers build on it, and loading a project imports no provider."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from actionmail import providers
from actionmail.config import providers as provider_settings
from tests.conftest import write

# One valid section for every provider, SES included (botocore, the heaviest import of them all).
SECTIONS = {
    "outbox": 'directory = "out"',
    "smtp": 'host = "smtp.example.org"\nusername = "action"',
    "mailgun": 'domain = "mg.example.org"',
    "sendgrid": 'base_url = "https://api.eu.sendgrid.com"',
    "postmark": 'message_stream = "broadcast"',
    "ses": 'region = "us-east-1"',
    "resend": "timeout = 10",
    "brevo": "timeout = 10",
}

# Run in a fresh interpreter: this one has imported every provider already. It prints what it imported.
LOAD = """
import json, sys
from pathlib import Path
from actionmail.config import load_project
from actionmail.errors import InvalidInput
try:
    sections, error = sorted(load_project(Path(sys.argv[1])).settings.providers), None
except InvalidInput as e:
    sections, error = [], str(e)
print(json.dumps({"sections": sections, "error": error, "modules": sorted(sys.modules)}))
"""


def load(project: Path) -> tuple[list[str], str | None, list[str]]:
    """The sections read from ``project``'s actionmail.toml, the error if any, and the heavy modules imported."""
    result = subprocess.run(
        [sys.executable, "-c", LOAD, str(project)], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = json.loads(result.stdout)
    imported = [
        module
        for module in loaded["modules"]
        if module.partition(".")[0] in ("botocore", "boto3", "requests", "urllib3")
        or module.startswith("actionmail.providers")
    ]
    return loaded["sections"], loaded["error"], imported


def test_both_registries_name_the_same_providers() -> None:
    assert list(providers.REGISTRY) == list(provider_settings.SETTINGS_MODELS)
    assert sorted(SECTIONS) == sorted(providers.REGISTRY)  # this file's project has a section for each


def test_each_provider_takes_the_settings_model_config_has_for_it() -> None:
    for name, model in provider_settings.SETTINGS_MODELS.items():
        assert providers.provider_class(name).settings_model is model, name


def test_loading_a_project_with_every_provider_section_imports_no_provider(tmp_path: Path) -> None:
    write(tmp_path, "actionmail.toml", "".join(f"[providers.{name}]\n{body}\n\n" for name, body in SECTIONS.items()))
    # Every section read and checked (load_project did not fail), and no provider's module, HTTP stack or botocore.
    assert load(tmp_path) == (sorted(SECTIONS), None, [])


def test_a_mistake_in_a_section_not_in_use_is_found_without_importing_its_provider(tmp_path: Path) -> None:
    write(tmp_path, "actionmail.toml", '[send]\nprovider = "outbox"\n\n[providers.ses]\nregoin = "us-east-1"\n')
    sections, error, imported = load(tmp_path)
    assert sections == []  # load_project refused the file
    assert error is not None and "actionmail.toml:5: providers.ses.regoin: unknown key" in error
    assert imported == []


# The store is below the stages that write to it: what members send back (feedback) builds on audience, never the
# reverse; and reading saved provider payloads needs no HTTP client.
IMPORTS = """
import importlib, json, pkgutil, sys
import actionmail.audience
for module in pkgutil.iter_modules(actionmail.audience.__path__):
    importlib.import_module(f"actionmail.audience.{module.name}")
audience = sorted(sys.modules)
importlib.import_module("actionmail.feedback.files")
print(json.dumps({"audience": audience, "files": sorted(sys.modules)}))
"""


def test_the_store_imports_no_later_stage_and_saved_payloads_need_no_http_client() -> None:
    out = subprocess.run([sys.executable, "-c", IMPORTS], capture_output=True, text=True, check=True).stdout
    modules = json.loads(out)
    assert not [m for m in modules["audience"] if m.startswith(("actionmail.feedback", "actionmail.delivery",
                                                                 "actionmail.providers", "actionmail.cli"))]  # fmt: skip
    assert "requests" not in modules["files"]


# A provider whose library is an extra (SES: botocore) says which extra installs it, when that is missing.
MISSING = """
import sys
sys.modules["botocore"] = None  # as if `pip install actionmail` without [ses]
sys.argv = ["actionmail", *sys.argv[1:]]
from actionmail.cli import main
main()
"""


def test_a_provider_whose_extra_is_missing_names_the_extra(tmp_path: Path) -> None:
    write(tmp_path, "actionmail.toml", '[providers.ses]\nregion = "us-east-1"\n')
    done = subprocess.run(
        [sys.executable, "-c", MISSING, "sync", "--provider", "ses"], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        "Error: the ses provider needs botocore, which is not installed: pip install 'actionmail[ses]'\n"
    )
