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

    def send(self, channel: str, recipient: str, subject: str, body: str, delivery_id: str) -> str:
        name = hashlib.sha256(delivery_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        if channel == "email":
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = self.sender, recipient, subject
            message.set_content(body)
            folder, name, content = "email", f"{name}.eml", bytes(message)
        else:
            folder, name, content = "sms", f"{name}.txt", f"To: {recipient}\n\n{body}\n".encode()
        (self.root / folder).mkdir(parents=True, exist_ok=True)
        path = inside(self.root, f"{folder}/{name}")  # refused if a link leads the folder elsewhere
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
