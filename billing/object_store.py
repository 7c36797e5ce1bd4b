"""Where documents (invoice PDFs) are stored: a folder by default, or S3 through boto3.

Keys look like `invoices/2026-10/<invoice_id>.pdf`. A folder store links with a file URL; an S3
store with a presigned URL made when asked, valid for `presign_seconds`.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

from billing.settings import BillingError


class FolderStore:
    def __init__(self, root: str):
        self.root = Path(root)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, target)

    def get(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def url(self, key: str) -> str:
        return (self.root / key).resolve().as_uri()


class S3Store:
    def __init__(self, uri: str, endpoint_url: str | None, presign_seconds: int):
        import boto3
        from botocore.config import Config

        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        self.bucket, self.prefix = bucket, prefix.strip("/")
        # SigV4: presigned URLs that state their lifetime (X-Amz-Expires), as AWS requires in new regions.
        self.client = boto3.client("s3", endpoint_url=endpoint_url, config=Config(signature_version="s3v4"))
        self.presign_seconds = presign_seconds

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)
        except Exception as error:  # boto3 raises many kinds; the operator needs the one line
            raise BillingError(f"cannot store s3://{self.bucket}/{self._key(key)}: {error}") from None

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

    def url(self, key: str) -> str:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._key(key)}, ExpiresIn=self.presign_seconds)


def open_object_store(uri: str, endpoint_url: str | None = None, presign_seconds: int = 7 * 24 * 3600):
    return S3Store(uri, endpoint_url, presign_seconds) if uri.startswith("s3://") else FolderStore(uri)


def pdf_key(period: str, invoice_id: str, draft: bool = False) -> str:
    """A draft's PDF has a name of its own: the final invoice's PDF is another document, rendered once."""
    return f"invoices/{period}/{invoice_id}{'.draft' if draft else ''}.pdf"
