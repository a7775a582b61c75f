"""A small fsspec filesystem for `s3://` paths over boto3, for when s3fs is not installed.

`UPathIOManager` works on universal-pathlib paths, which reach object stores through fsspec;
fsspec's own S3 filesystem (s3fs) is a heavy dependency of its own. kubedag already talks to S3
with boto3, so `UPath("s3://bucket/prefix")` is served by this class when s3fs is absent:
whole-object reads and writes (a file opened for writing is uploaded when it is closed),
listing by prefix, deletion. Directories are implied by keys, as in S3 itself.

Credentials and the region come from boto3's usual places (the standard AWS environment
variables, profiles); `endpoint_url` (as a storage option, or `AWS_ENDPOINT_URL`) points it at
an S3-compatible server.
"""

from __future__ import annotations

import io
from typing import Any

from fsspec.spec import AbstractFileSystem  # type: ignore[import-untyped]


class _UploadOnClose(io.BytesIO):
    def __init__(self, fs: BotoS3FileSystem, path: str) -> None:
        super().__init__()
        self._fs = fs
        self._path = path

    def close(self) -> None:
        if not self.closed:
            self._fs.pipe_file(self._path, self.getvalue())
        super().close()


class BotoS3FileSystem(AbstractFileSystem):  # type: ignore[misc]
    """`s3://bucket/key` through a boto3 client."""

    protocol = ("s3", "s3a")
    root_marker = ""
    cachable = False

    def __init__(
        self,
        endpoint_url: str | None = None,
        client_kwargs: dict[str, Any] | None = None,
        key: str | None = None,
        secret: str | None = None,
        **storage_options: Any,
    ) -> None:
        super().__init__(**storage_options)
        kwargs = dict(client_kwargs or {})
        if endpoint_url is not None:
            kwargs.setdefault("endpoint_url", endpoint_url)
        if key is not None:
            kwargs.setdefault("aws_access_key_id", key)
        if secret is not None:
            kwargs.setdefault("aws_secret_access_key", secret)
        self._client_kwargs = kwargs
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # type: ignore[import-untyped]
            from botocore.config import Config  # type: ignore[import-untyped]

            config = Config(signature_version="s3v4", s3={"addressing_style": "path"})
            self._client = boto3.session.Session().client(
                "s3", config=config, **self._client_kwargs
            )
        return self._client

    @staticmethod
    def _split(path: str) -> tuple[str, str]:
        path = BotoS3FileSystem._strip_protocol(path).strip("/")
        bucket, _, key = path.partition("/")
        return bucket, key

    def _missing(self, exc: Exception) -> bool:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        return code in ("404", "NoSuchKey", "NotFound")

    # -- objects ------------------------------------------------------------------------------
    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kw: Any
    ) -> bytes:
        bucket, key = self._split(path)
        try:
            body: bytes = self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as exc:
            if self._missing(exc):
                raise FileNotFoundError(path) from exc
            raise
        return body[start:end]

    def pipe_file(self, path: str, value: bytes, **kwargs: Any) -> None:
        bucket, key = self._split(path)
        self.client.put_object(Bucket=bucket, Key=key, Body=value)

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if "r" in mode:
            return io.BytesIO(self.cat_file(path))
        if "w" in mode:
            return _UploadOnClose(self, path)
        raise ValueError(f"s3 paths open for reading or writing, not {mode!r}")

    def rm_file(self, path: str) -> None:
        bucket, key = self._split(path)
        self.client.delete_object(Bucket=bucket, Key=key)

    def _rm(self, path: str) -> None:
        self.rm_file(path)

    # -- "directories" are key prefixes ---------------------------------------------------------
    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        pass

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        pass

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        bucket, key = self._split(path)
        prefix = f"{key}/" if key else ""
        entries: list[dict[str, Any]] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                name = f"{bucket}/{common['Prefix'].rstrip('/')}"
                entries.append({"name": name, "size": 0, "type": "directory"})
            for obj in page.get("Contents", []):
                name = f"{bucket}/{obj['Key']}"
                entries.append({"name": name, "size": obj["Size"], "type": "file"})
        if not entries and key and self._is_file(bucket, key):
            entries = [self.info(path)]
        if not entries and key:
            raise FileNotFoundError(path)
        return entries if detail else [e["name"] for e in entries]

    def _is_file(self, bucket: str, key: str) -> bool:
        try:
            self.client.head_object(Bucket=bucket, Key=key)
            return True
        except Exception as exc:
            if self._missing(exc):
                return False
            raise

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        bucket, key = self._split(path)
        if not key:
            return {"name": bucket, "size": 0, "type": "directory"}
        try:
            head = self.client.head_object(Bucket=bucket, Key=key)
            return {"name": f"{bucket}/{key}", "size": head["ContentLength"], "type": "file"}
        except Exception as exc:
            if not self._missing(exc):
                raise
        listing = self.client.list_objects_v2(Bucket=bucket, Prefix=f"{key}/", MaxKeys=1)
        if listing.get("KeyCount", 0):
            return {"name": f"{bucket}/{key}", "size": 0, "type": "directory"}
        raise FileNotFoundError(path)


def register_if_needed() -> None:
    """Serve `s3://` with this class unless s3fs (fsspec's own) is installed."""
    import importlib.util

    import fsspec  # type: ignore[import-untyped]

    if importlib.util.find_spec("s3fs") is not None:
        return
    for protocol in BotoS3FileSystem.protocol:
        fsspec.register_implementation(protocol, BotoS3FileSystem, clobber=True)
