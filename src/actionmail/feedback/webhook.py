"""What every provider's webhook is given and gives back, and the checks they share.

A request reaches this layer as its raw parts — headers, the body's exact bytes, the time now, and the
``ACTIONMAIL_<PROVIDER>_WEBHOOK_*`` settings — so that it does not depend on a web framework, and tests sign real
bytes. A provider's ``read`` either raises :class:`WebhookRejected` (whose ``status`` and ``message`` are what
to answer: safe to show, never a secret or an echo of the input) or returns a :class:`WebhookResult`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from actionmail.feedback.events import FeedbackEvent, utf8


class WebhookRejected(Exception):
    """The request is refused and changes nothing: answer ``status`` with ``message`` (and ``headers``)."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})


class NotConfigured(WebhookRejected):
    """This provider's webhook secrets are not set (or not usable): nothing can be verified, so nothing is read.

    503, so that providers retry (Mailgun for ~8 h, SendGrid for 24 h) while someone sets the variable. The
    message names the variable, never its value.
    """

    def __init__(self, message: str) -> None:
        super().__init__(503, message)


@dataclass(frozen=True)
class WebhookRequest:
    """One POST as it arrived: header names in any case, the body's exact bytes, and the settings to check it."""

    headers: Mapping[str, str]
    body: bytes
    now: dt.datetime  # aware
    secrets: Mapping[str, str]  # os.environ, or the ACTIONMAIL_<PROVIDER>_WEBHOOK_* part of it

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:  # a caller's mistake, not the request's: time windows need a real "now"
            raise ValueError("WebhookRequest.now must be timezone-aware")

    def header(self, name: str) -> str | None:
        """A header's value, whatever case either side wrote its name in."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None

    def secret(self, name: str) -> str | None:
        value = self.secrets.get(name)
        return (value.strip() or None) if isinstance(value, str) else None


@dataclass
class WebhookResult:
    """What a verified request said: its events, and for SNS a subscription to confirm."""

    events: list[FeedbackEvent] = field(default_factory=list)
    # SNS SubscriptionConfirmation, verified: the caller GETs this URL (https://sns.<region>.amazonaws.com/…)
    # to confirm the subscription; until then SNS sends nothing else.
    subscribe_url: str | None = None
    topic: str | None = None  # the SNS TopicArn the request came from
    skipped: list[str] = field(default_factory=list)  # records that were not events, and why (for the log)


# Bodies larger than this are refused before any parsing. One event is a few KB; the batching providers get
# more room: SendGrid posts batches of up to 768 KB (its event webhook docs), Brevo up to 500 events a batch.
MAX_BODY = 1024 * 1024
MAX_BATCH_BODY = 4 * 1024 * 1024


def check_size(request: WebhookRequest, limit: int) -> None:
    if len(request.body) > limit:
        raise WebhookRejected(413, f"request body over {limit // 1024} KiB")


def load_json(body: bytes, what: str) -> Any:
    """The body as JSON, or a 400: not UTF-8, not JSON, NaN/Infinity, numbers too long, nested too deep."""
    try:
        decoded = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRejected(400, f"{what}: the body is not UTF-8") from None
    try:
        return json.loads(decoded, parse_constant=_no_constant)
    except RecursionError:
        raise WebhookRejected(400, f"{what}: the JSON is nested too deeply") from None
    except ValueError:  # JSONDecodeError, NaN, and int('9' * 5000) past Python's digit limit
        raise WebhookRejected(400, f"{what}: the body is not valid JSON") from None


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def unauthorized(what: str) -> WebhookRejected:
    """A 401 that asks for basic auth: SNS sends credentials only after such a challenge (anymail)."""
    return WebhookRejected(401, what, {"WWW-Authenticate": 'Basic realm="actionmail webhooks", charset="UTF-8"'})


def check_basic_auth(request: WebhookRequest, username: str, password: str) -> None:
    """The request's ``Authorization: Basic`` matches, compared in constant time; else a 401 challenge."""
    given = request.header("authorization") or ""
    scheme, _, encoded = given.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise unauthorized("basic auth required")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise unauthorized("wrong credentials") from None
    user, colon, secret = decoded.partition(b":")
    # Both comparisons always run, so that the time taken does not say which half was wrong.
    same_user = hmac.compare_digest(user, utf8(username))
    same_password = hmac.compare_digest(secret, utf8(password))
    if not (colon and same_user and same_password):
        raise unauthorized("wrong credentials")


def check_bearer(request: WebhookRequest, token: str) -> bool:
    """Whether the request carries ``Authorization: Bearer <token>`` (constant-time)."""
    scheme, _, given = (request.header("authorization") or "").strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(utf8(given.strip()), utf8(token))


def basic_auth_settings(request: WebhookRequest, provider: str) -> tuple[str, str] | None:
    """``ACTIONMAIL_<PROVIDER>_WEBHOOK_USERNAME`` and ``…_PASSWORD``, if both are set; a 503 if only one is."""
    prefix = f"ACTIONMAIL_{provider.upper()}_WEBHOOK_"
    username, password = request.secret(prefix + "USERNAME"), request.secret(prefix + "PASSWORD")
    if bool(username) != bool(password):
        raise NotConfigured(f"set both {prefix}USERNAME and {prefix}PASSWORD (only one is set)")
    return (username, password) if username and password else None


def check_age(request: WebhookRequest, signed_at: dt.datetime, past: dt.timedelta, future: dt.timedelta) -> None:
    """A signed time too far from now is a replay (or a wrong clock): 401."""
    now = request.now
    if signed_at < now - past:
        raise WebhookRejected(401, f"timestamp too old (more than {_span(past)} ago): replay or wrong clock")
    if signed_at > now + future:
        raise WebhookRejected(401, f"timestamp in the future (more than {_span(future)} ahead): wrong clock")


def _span(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 and minutes >= 60 else f"{minutes} min"
