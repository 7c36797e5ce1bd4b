"""Alert channels: email through Amazon SES and SMS through Amazon SNS, or files under BILLING_HOME.

Each `send` returns the provider's message id. The file transport names each file after the delivery (a
hash of its id, which holds a user id from the directory: never a path), so sending a delivery again
rewrites the same file rather than a second message.
"""
from __future__ import annotations

import hashlib
import os
from email.message import EmailMessage
from pathlib import Path

from billing.identifiers import inside
from billing.settings import BillingError


class FileTransport:
    def __init__(self, root: Path, sender: str):
        self.root, self.sender = Path(root), sender

    def path(self, channel: str, delivery_id: str) -> Path:
        """The delivery's file: named by a hash of its id (which holds a user id from the directory: never a
        path), refused if a link leads the folder elsewhere."""
        name = hashlib.sha256(delivery_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        folder, suffix = ("email", "eml") if channel == "email" else ("sms", "txt")
        (self.root / folder).mkdir(parents=True, exist_ok=True)
        return inside(self.root, f"{folder}/{name}.{suffix}")

    def delivered(self, channel: str, delivery_id: str) -> bool:
        """Whether the delivery's file was written (a crash may have come before the ledger recorded it)."""
        return self.path(channel, delivery_id).exists()

    def send(self, channel: str, recipient: str, subject: str, body: str, delivery_id: str) -> str:
        path = self.path(channel, delivery_id)
        if channel == "email":
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = self.sender, recipient, subject
            message.set_content(body)
            content = bytes(message)
        else:
            content = f"To: {recipient}\n\n{body}\n".encode()
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(content)
        os.replace(temporary, path)
        return str(path)


class AwsTransport:
    def __init__(self, sender: str, endpoint_url: str | None):
        import boto3

        self.sender = sender
        self.ses = boto3.client("ses", endpoint_url=endpoint_url)
        self.sns = boto3.client("sns", endpoint_url=endpoint_url)

    def delivered(self, channel: str, delivery_id: str) -> None:
        """SES and SNS cannot be asked whether a message went out: unknown."""
        return None

    def send(self, channel: str, recipient: str, subject: str, body: str, delivery_id: str) -> str:
        if channel == "email":
            response = self.ses.send_email(Source=self.sender, Destination={"ToAddresses": [recipient]},
                                           Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": body}}})
        else:
            response = self.sns.publish(PhoneNumber=recipient, Message=f"{subject}: {body}"[:1600])
        return response["MessageId"]


def open_transport(kind: str, outbox: Path, sender: str, endpoint_url: str | None) -> FileTransport | AwsTransport:
    if kind not in ("files", "aws"):
        raise BillingError(f"BILLING_ALERT_TRANSPORT must be 'files' or 'aws', got {kind!r}")
    return AwsTransport(sender, endpoint_url) if kind == "aws" else FileTransport(outbox, sender)
