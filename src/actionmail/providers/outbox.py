"""The outbox: every message written as an RFC 5322 ``.eml`` file, one folder per newsletter. No account needed.

Files are named by the recipient's key (their member number), so writing the same message again replaces the
file rather than adding one: for the engine the outbox is idempotent, and a resumed send never leaves two
copies for one member. Each file is written to a temporary name and renamed, so none is ever half-written.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import ClassVar

from actionmail.config.providers import OutboxSettings, ProviderSettings
from actionmail.providers import mime
from actionmail.providers.base import Batch, BatchResult, Provider, ProviderError


class Outbox(Provider):
    name = "outbox"
    max_batch = 100
    idempotent = True
    can_schedule = False
    settings_model: ClassVar[type[ProviderSettings]] = OutboxSettings
    settings: OutboxSettings

    def send(self, batch: Batch) -> BatchResult:
        folder = Path(self.settings.directory) / batch.envelope.tag
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ProviderError(self.name, f"cannot create {folder}: {e.strerror}") from None
        result = BatchResult()
        for recipient in batch.recipients:
            if batch.envelope.test:
                name = f"test-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}.eml"
            else:
                name = f"{recipient.key}.eml"
            try:
                data = mime.encode(mime.message(batch, recipient))
            except mime.UnsafeHeader as e:
                result.rejected[recipient.key] = str(e)
                continue
            try:
                with tempfile.NamedTemporaryFile("wb", dir=folder, prefix=".", suffix=".tmp", delete=False) as f:
                    f.write(data)
                os.replace(f.name, folder / name)
            except OSError as e:
                raise ProviderError(self.name, f"cannot write to {folder}: {e.strerror}") from None
            result.accepted[recipient.key] = str(folder / name)
        return result
