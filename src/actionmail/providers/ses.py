"""Amazon SES (API v2): one ``SendEmail`` call per recipient, carrying their complete message as raw MIME.

Why SendEmail with ``Content.Raw`` and not SendBulkEmail: SendBulkEmail personalises only a *stored* template
(``DefaultContent.Template`` names one kept in the account), so each send would first have to create, and
later delete, a template in the customer's account: state outside actionmail that a crash would leave behind,
and one more permission to ask for. Raw MIME carries exactly the message the other whole-message providers
send (:mod:`actionmail.providers.mime`), List-Unsubscribe headers included.

A batch is one recipient (``max_batch = 1``): SES has no idempotency key, and the engine retries or fails a batch
as a whole, so a batch of many calls failing at its tenth (``TooManyRequestsException``) would resend the first
nine. The engine runs several batches at once, each on botocore's thread-safe client and its connection pool.

Requests are signed (SigV4) by botocore with the standard AWS credentials (environment, profile, SSO or role),
never with settings. botocore's own retries are off: the engine retries, knowing what is safe to repeat.

Reference: providers.md §4 (SES v2 API reference and quotas docs; botocore's sesv2 model, verified locally).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
)
from botocore.parsers import ResponseParserError

from actionmail import __version__
from actionmail.config.providers import ProviderSettings, SESSettings
from actionmail.feedback import ses as feedback
from actionmail.providers import mime
from actionmail.providers import pull as paging
from actionmail.providers.base import (
    Batch,
    BatchResult,
    MissingCredentials,
    Provider,
    ProviderError,
    Pullable,
    PullNotSupported,
)

# Not now, rather than never (providers.md §4; botocore's "standard" retry mode retries the same codes).
_TRANSIENT = frozenset(
    {"TooManyRequestsException", "LimitExceededException", "Throttling", "ThrottlingException", "InternalFailure"}
)
_CREDENTIALS = frozenset(
    {"UnrecognizedClientException", "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredTokenException"}
)
# EmailTags: ASCII letters, digits, "_" and "-", at most 256 characters (MessageTag doc).
_NOT_IN_TAG = re.compile(r"[^A-Za-z0-9_-]")
# PageSize of ListSuppressedDestinations: "the number of results to show in a single call" (API reference); AWS
# names no maximum there, and 1,000 is the most other SES v2 lists take (unverified for this one).
SUPPRESSION_PAGE = 1000
_NO_CREDENTIALS = (
    "ses needs AWS credentials: set the environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
    "or AWS_PROFILE, or run where an AWS role provides them"
)


class SES(Provider):
    name = "ses"
    max_batch = 1  # see the module docstring
    settings_model: ClassVar[type[ProviderSettings]] = SESSettings
    settings: SESSettings
    # The account's suppression list only: SES keeps no events to search. They are published as they happen (to
    # SNS, Firehose, CloudWatch or EventBridge, through a configuration set): run actionmail serve with SNS.
    # GetMessageInsights answers for one message at a time, needs the Virtual Deliverability Manager, and allows
    # one call a second; not used.
    pulls = frozenset({Pullable.SUPPRESSIONS})

    def __init__(self, settings: ProviderSettings, environ: Mapping[str, str] | None = None, pool: int = 16) -> None:
        super().__init__(settings, environ)
        self.pool = pool
        self._client: Any = None
        self._lock = threading.Lock()

    def _pull_stages(self, start: dt.datetime | None, end: dt.datetime) -> list[paging.Stage]:
        """The account-level suppression list (bounces and complaints), entries updated since ``start``."""
        return [paging.Stage("suppressions", lambda token: self._suppressed(start, end, token))]

    def _send_stages(self, tag: str, message_ids: Sequence[str]) -> paging.Stages:
        raise PullNotSupported(
            "ses keeps no events to read back; it publishes them as they happen: give the send a configuration set "
            "that publishes to an SNS topic, and subscribe actionmail serve to it"
        )

    def _suppressed(self, start: dt.datetime | None, end: dt.datetime, token: str | None) -> paging.Page:
        call: dict[str, Any] = {"EndDate": end, "PageSize": SUPPRESSION_PAGE}
        if start is not None:
            call["StartDate"] = start
        if token is not None:
            call["NextToken"] = token
        answer = self._call(call, "list_suppressed_destinations")
        items = paging.records(self.name, "suppressions", answer, "SuppressedDestinationSummaries")
        page = paging.read_page(items, feedback.suppressed)
        following = answer.get("NextToken") if isinstance(answer, dict) else None
        page.next = following if isinstance(following, str) and following else None
        return page

    def send(self, batch: Batch) -> BatchResult:
        if len(batch.recipients) > self.max_batch:
            raise ProviderError(self.name, f"{len(batch.recipients)} recipients in one batch; at most {self.max_batch}")
        if batch.envelope.send_at is not None:
            raise ProviderError(self.name, "SES cannot schedule delivery: send without a delivery time")
        envelope, result = batch.envelope, BatchResult()
        for recipient in batch.recipients:
            try:
                data = mime.encode(mime.message(batch, recipient), mime.WIRE)
            except mime.UnsafeHeader as e:
                result.rejected[recipient.key] = str(e)
                continue
            call: dict[str, Any] = {
                # No FromEmailAddress: with raw content SES takes the message's From header.
                "Destination": {"ToAddresses": [recipient.email]},
                "Content": {"Raw": {"Data": data}},
                "EmailTags": [
                    {"Name": "tag", "Value": _tag(envelope.tag)},
                    {"Name": "send_id", "Value": _tag(envelope.send_id)},
                ],
            }
            if self.settings.configuration_set:
                call["ConfigurationSetName"] = self.settings.configuration_set
            answer = self._call(call)
            if not answer.get("MessageId"):  # a 200 that isn't SES's: it may have sent, we can't know
                raise ProviderError(self.name, "answered without a MessageId: check base_url", maybe_sent=True)
            result.accepted[recipient.key] = str(answer["MessageId"])
        return result

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _call(self, call: dict[str, Any], operation: str = "send_email") -> Any:
        client = self._ses()
        try:
            return getattr(client, operation)(**call)
        except (ResponseParserError, ValueError, TypeError, AttributeError, KeyError) as e:
            if operation == "send_email":  # as before: a send's own errors are not hidden
                raise
            # botocore could not read the page as SES's (the wrong shape; a proxy's page)
            message = f"answered with something that is not SES's ({type(e).__name__}): check base_url"
            raise ProviderError(self.name, message) from None
        except ClientError as e:
            raise self._refused(e, operation) from None
        except (EndpointConnectionError, ConnectTimeoutError) as e:  # nothing was sent
            raise ProviderError(self.name, f"could not connect: {e}", transient=True) from None
        except HTTPClientError as e:  # read timeout, connection closed: after the request went out
            raise ProviderError(self.name, f"no answer: {e}", transient=True, maybe_sent=True) from None
        except NoCredentialsError:
            raise MissingCredentials(_NO_CREDENTIALS) from None

    def _ses(self) -> Any:
        """The sesv2 client, made when first sending (as providers.build promises, a dry run needs no keys)."""
        with self._lock:
            if self._client is None:
                session = botocore.session.Session()
                key = self.environ.get("AWS_ACCESS_KEY_ID", "").strip()
                if key:  # from this provider's environment, which tests and callers may give
                    secret = self.secret("AWS_SECRET_ACCESS_KEY", what="AWS secret key (with AWS_ACCESS_KEY_ID)")
                    session.set_credentials(key, secret, self.environ.get("AWS_SESSION_TOKEN") or None)
                elif session.get_credentials() is None:  # profile, SSO, container or instance role
                    raise MissingCredentials(_NO_CREDENTIALS)
                config = Config(
                    retries={"total_max_attempts": 1},  # the engine retries (providers.md §4: N means N retries)
                    connect_timeout=self.settings.timeout,
                    read_timeout=self.settings.timeout,
                    max_pool_connections=self.pool,
                    user_agent_extra=f"actionmail/{__version__}",
                )
                self._client = session.create_client(
                    "sesv2", region_name=self.settings.region, endpoint_url=self.settings.base_url, config=config
                )
            return self._client

    def _refused(self, e: ClientError, operation: str = "send_email") -> ProviderError:
        error = e.response.get("Error", {})
        code, message = str(error.get("Code", "")), (str(error.get("Message", "")) or str(e)).rstrip(".")
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        # Over the daily quota SES drops the message with a throttling error; AWS says wait (quotas doc). Retrying
        # for minutes won't help: stop, and let the rest go out once the quota renews.
        if "daily message quota exceeded" in message.lower():
            return ProviderError(
                self.name, f"{message} ({code}): the rest can be sent once the quota renews", status=status
            )
        if code in _CREDENTIALS:
            message += ": check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the AWS profile) and the region"
        elif code == "AccessDeniedException" and operation == "send_email":
            message += ": the AWS credentials need permission for ses:SendEmail (and ses:SendRawEmail)"
        elif code == "AccessDeniedException":  # a pull: the action is the operation's name in CamelCase
            action = "".join(word.title() for word in operation.split("_"))
            message += f": the AWS credentials need permission for ses:{action}"
        transient = code in _TRANSIENT or (status or 0) >= 500 or status == 429
        return ProviderError(self.name, f"{message} ({code})" if code else message, status=status, transient=transient)


def _tag(value: str) -> str:
    return _NOT_IN_TAG.sub("_", value)[:256] or "_"
