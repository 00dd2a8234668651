"""Where the files of uploaded documents live: one small interface, two backends.

``DOCUMENT_STORE`` (``matching.config``) chooses:

- ``local`` (the default): the folder ``instance/documents/``; ``make run`` needs nothing else;
- ``s3``: a bucket of an S3-compatible object store (Amazon S3, MinIO, Ceph, ...), so that
  every host of one database serves the same files. ``DOCUMENT_S3_*`` say where and how.

A store only keeps bytes under a key: every check (type read from the content, size, who may
record or read) is made by ``matching.operations.documents`` and ``matching.access`` before
anything is stored or served. The keys are the random names the operations make
(``<32 hex digits>.<ext>``): they say nothing about the person.
"""

import os
import threading
from typing import BinaryIO

from flask import current_app

__all__ = ["STORES", "DocumentStore", "LocalStore", "S3Store", "check_config",
           "close_document_store", "document_store"]

STORES = ("local", "s3")
_EXTENSION = "matching.document_store"
_LOCK = threading.Lock()


class DocumentStore:
    """put / open / delete / size of the objects under ``key``."""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under a new ``key``."""
        raise NotImplementedError

    def open(self, key: str) -> BinaryIO:
        """A binary stream of the object (``read(n)``, ``close()``); FileNotFoundError
        without one."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        """Remove the object; nothing happens without one."""
        raise NotImplementedError

    def size(self, key: str) -> int | None:
        """The object's size in bytes, or None without one."""
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def close(self) -> None:
        """Let go of connections (an app that ends before its process, as in tests)."""

    def reader(self, key: str) -> "LazyReader":
        """A stream of the object that is opened by its first read and closed by its last
        (or by ``close``): a download nobody reads holds no file or connection."""
        return LazyReader(self, key)


class LazyReader:
    """File-like (``read``, ``close``) for ``send_file``; see ``DocumentStore.reader``."""

    def __init__(self, store: DocumentStore, key: str):
        self._store, self._key = store, key
        self._stream: BinaryIO | None = None
        self._done = False

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all without one): fewer only at the end, which closes the
        stream there and then (a small file is opened and closed by one read)."""
        if self._done:
            return b""
        if self._stream is None:
            self._stream = self._store.open(self._key)
        if size is None or size < 0:
            chunk = self._stream.read()
            self.close()
            return chunk
        chunk = b""
        while len(chunk) < size:
            more = self._stream.read(size - len(chunk))
            if not more:
                self.close()
                break
            chunk += more
        return chunk

    def close(self) -> None:
        self._done = True
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()


class LocalStore(DocumentStore):
    """Files in one folder (``instance/documents/`` by default)."""

    def __init__(self, folder: str):
        self.folder = folder

    def path(self, key: str) -> str:
        return os.path.join(self.folder, key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        os.makedirs(self.folder, exist_ok=True)
        with open(self.path(key), "xb") as out:  # "x": never overwrite, even on a clash
            out.write(data)

    def open(self, key: str) -> BinaryIO:
        return open(self.path(key), "rb")

    def delete(self, key: str) -> None:
        try:
            os.remove(self.path(key))
        except FileNotFoundError:
            pass

    def size(self, key: str) -> int | None:
        path = self.path(key)
        return os.path.getsize(path) if os.path.isfile(path) else None


class S3Store(DocumentStore):
    """Objects ``<prefix><key>`` in one bucket of an S3-compatible store."""

    def __init__(self, *, bucket: str, prefix: str = "", endpoint_url: str | None = None,
                 region: str | None = None, access_key_id: str | None = None,
                 secret_access_key: str | None = None):
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix = bucket, prefix
        # Stores other than Amazon's (MinIO, Ceph, ...) are addressed by path
        # (http://host/bucket/key), which Amazon S3 accepts too. Without keys here, boto3
        # looks for them as usual (AWS_* environment variables, the host's role).
        config = Config(s3={"addressing_style": "path"} if endpoint_url else {},
                        connect_timeout=5, read_timeout=30,
                        retries={"max_attempts": 3, "mode": "standard"})
        # A session of its own: boto3's default session is not safe to share across threads
        # while clients are made; the client itself is.
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None, config=config)

    def close(self) -> None:
        self.client.close()

    def _key(self, key: str) -> str:
        return self.prefix + key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data,
                               ContentType=content_type)

    def open(self, key: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(key) from None

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return head["ContentLength"]


def check_config(config) -> None:
    """Refuse a store setting that cannot work, when the app starts rather than at the
    first upload."""
    kind = config.get("DOCUMENT_STORE") or "local"
    if kind not in STORES:
        raise ValueError(f"DOCUMENT_STORE must be one of {', '.join(STORES)}, not {kind!r}")
    if kind == "s3" and not config.get("DOCUMENT_S3_BUCKET"):
        raise ValueError("DOCUMENT_STORE=s3 needs DOCUMENT_S3_BUCKET")


def document_store(app=None) -> DocumentStore:
    """The app's document store, made at its first use from the configuration."""
    app = app or current_app._get_current_object()
    store = app.extensions.get(_EXTENSION)
    if store is None:
        with _LOCK:
            store = app.extensions.get(_EXTENSION)
            if store is None:
                store = app.extensions[_EXTENSION] = _make(app)
    return store


def _make(app) -> DocumentStore:
    config = app.config
    check_config(config)
    if (config.get("DOCUMENT_STORE") or "local") == "s3":
        return S3Store(bucket=config["DOCUMENT_S3_BUCKET"],
                       prefix=config.get("DOCUMENT_S3_PREFIX") or "",
                       endpoint_url=config.get("DOCUMENT_S3_ENDPOINT_URL"),
                       region=config.get("DOCUMENT_S3_REGION"),
                       access_key_id=config.get("DOCUMENT_S3_ACCESS_KEY_ID"),
                       secret_access_key=config.get("DOCUMENT_S3_SECRET_ACCESS_KEY"))
    return LocalStore(os.path.join(app.instance_path, "documents"))


def close_document_store(app) -> None:
    """Close and forget the app's store: the next use makes it again from the configuration
    (tests switch an app to another store this way)."""
    store = app.extensions.pop(_EXTENSION, None)
    if store is not None:
        store.close()
