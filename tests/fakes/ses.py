"""A fake of Amazon SES v2's SendEmail (providers.md §4 and §10): ``POST /v2/email/outbound-emails``.

It checks the SigV4 signature with botocore's own signer and the one key pair it knows (a wrong secret gets
403 ``SignatureDoesNotMatch``, an unknown key id 403 ``UnrecognizedClientException``), which is stricter than
§10's "accept any AWS4-HMAC-SHA256 header": the contract's wrong-key check needs it. Errors are the status, an
``x-amzn-ErrorType`` header naming the exception and a ``{"message"}`` body, which botocore turns into the
modelled exception. Raw MIME is parsed back into what each recipient gets.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.parser
import email.policy
import re
import uuid
from email.message import EmailMessage
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.fakes.server import Delivered, FakeProvider, Fault, Request, Response

_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<headers>[^,]+),\s*Signature=(?P<signature>[0-9a-f]{64})"
)
_TAG = re.compile(r"[A-Za-z0-9_-]{1,256}")


def error(status: int, kind: str, message: str) -> Response:
    return Response(status, {"message": message}, {"x-amzn-ErrorType": kind})


def fault(status: int, kind: str, message: str) -> Fault:
    return Fault(status=status, body={"message": message}, headers={"x-amzn-ErrorType": kind})


class SESFake(FakeProvider):
    name = "ses"

    def __init__(self, key_id: str, secret: str, region: str = "us-east-1", verified: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.key_id, self.secret, self.region = key_id, secret, region
        self.verified = set(verified)  # identities (domains or addresses) allowed as From
        self.configuration_sets = {"actionmail-events"}
        # What ListSuppressedDestinations serves: {EmailAddress, Reason, LastUpdateTime (a datetime)}.
        self.suppressed: list[dict[str, Any]] = []
        self.loop_after: int | None = None  # hostile: from this page on, NextToken names the same page again
        self.pages_served = 0

    def handle(self, request: Request) -> Response:
        if problem := self._unsigned(request):
            return problem
        if request.method == "GET" and request.path == "/v2/email/suppression/addresses":
            return self._suppressed(request)
        if request.path != "/v2/email/outbound-emails":
            return error(404, "UnknownOperationException", "Unknown operation")
        body = request.json()
        destination = body.get("Destination") or {}
        addresses = [a for field in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destination.get(field, [])]
        if len(addresses) > 50:
            return error(400, "MessageRejected", "Recipient count exceeds 50.")
        name = body.get("ConfigurationSetName")
        if name is not None and name not in self.configuration_sets:
            return error(404, "NotFoundException", f"Configuration set <{name}> does not exist.")
        tags = body.get("EmailTags") or []
        if not all(_TAG.fullmatch(str(t.get("Name"))) and _TAG.fullmatch(str(t.get("Value"))) for t in tags):
            return error(400, "BadRequestException", "Tags may only contain letters, numbers, _ and -.")
        raw = (body.get("Content") or {}).get("Raw")
        if not raw:
            return error(400, "BadRequestException", "This fake takes raw content only.")
        message = email.parser.BytesParser(policy=email.policy.default).parsebytes(base64.b64decode(raw["Data"]))
        assert isinstance(message, EmailMessage)
        sender = message["From"].addresses[0].addr_spec if message["From"] else ""
        if sender not in self.verified and sender.rpartition("@")[2] not in self.verified:
            return error(
                400,
                "MessageRejected",
                "Email address is not verified. The following identities failed the check in region "
                f"{self.region.upper()}: {sender}",
            )
        message_id = f"0100{uuid.uuid4().hex}-000000"
        tag = {t["Name"]: t["Value"] for t in tags}.get("tag")
        for address in addresses or [a.addr_spec for a in message["To"].addresses]:
            self.deliver(
                Delivered(
                    to=address,
                    subject=str(message["Subject"]),
                    html=_body(message, "html"),
                    text=_body(message, "plain"),
                    headers={k: str(v) for k, v in message.items()},
                    tag=tag,
                    message_id=message_id,
                    name=message["To"].addresses[0].display_name or None if message["To"] else None,
                )
            )
        return Response(200, {"MessageId": message_id})

    def _unsigned(self, request: Request) -> Response | None:
        """A 403 unless the request is signed (SigV4) with the key pair this fake knows."""
        found = _AUTHORIZATION.fullmatch(request.headers.get("authorization", ""))
        if not found:
            return error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        if found["key"] != self.key_id:
            return error(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
        signed = found["headers"].split(";")
        host = request.headers["host"]
        aws = AWSRequest(
            method=request.method,
            url=f"http://{host}{request.path}" + (f"?{request.raw_query}" if request.raw_query else ""),
            data=request.body,
            headers={name: request.headers[name] for name in signed},
        )
        aws.context["timestamp"] = request.headers["x-amz-date"]
        signer = SigV4Auth(Credentials(self.key_id, self.secret), found["service"], found["region"])
        expected = signer.signature(signer.string_to_sign(aws, signer.canonical_request(aws)), aws)
        if expected != found["signature"]:
            return error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method.",
            )
        return None

    def _suppressed(self, request: Request) -> Response:
        """``ListSuppressedDestinations``: ``Reason`` (repeatable), ``StartDate``, ``EndDate`` (ISO 8601, as
        botocore writes them), ``PageSize``, ``NextToken``; newest first; LastUpdateTime as Unix seconds."""
        query = request.query
        try:
            size = int(query.get("PageSize", ["1000"])[-1])
            start = _date(query.get("StartDate", [None])[-1]) or dt.datetime.min.replace(tzinfo=dt.UTC)
            end = _date(query.get("EndDate", [None])[-1]) or dt.datetime.max.replace(tzinfo=dt.UTC)
            offset = int(query.get("NextToken", ["0"])[-1].removeprefix("tok"))
        except ValueError:
            return error(400, "BadRequestException", "Invalid parameter")
        if not 1 <= size <= 1000:
            return error(400, "BadRequestException", "PageSize must be between 1 and 1000")
        reasons = set(query.get("Reason", ["BOUNCE", "COMPLAINT"]))
        chosen = [s for s in self.suppressed if s["Reason"] in reasons and start <= s["LastUpdateTime"] <= end]
        chosen.sort(key=lambda s: (s["LastUpdateTime"], s["EmailAddress"]), reverse=True)
        items = [{**s, "LastUpdateTime": s["LastUpdateTime"].timestamp()} for s in chosen[offset : offset + size]]
        body: dict[str, Any] = {"SuppressedDestinationSummaries": items}
        self.pages_served += 1
        if offset + size < len(chosen):
            body["NextToken"] = f"tok{offset + size}"
        if self.loop_after is not None and self.pages_served > self.loop_after:
            body["NextToken"] = "tok0"
        return Response(200, body)


def _body(message: EmailMessage, kind: str) -> str:
    part: Any = message.get_body((kind,))
    return str(part.get_content()).replace("\r\n", "\n") if part is not None else ""


def _date(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    if value.replace(".", "").isdigit():
        return dt.datetime.fromtimestamp(float(value), dt.UTC)
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
