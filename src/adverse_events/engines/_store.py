"""Where the Ray engine reads inputs and writes outputs: a local folder or an S3 bucket.

Two small stores with the same five calls (`list_objects`, `get`, `put`, `delete`,
`download`), keyed by ``/``-separated text, so the engine's planning and writing code never
asks which one it has.
`S3Store` goes through the library's one AWS client factory and error map
(`adverse_events.aws.clients`, `adverse_events.aws.errors`): throttling and 5xx become
`TransientBackendError`, so the caller's retry policy applies. Both pickle without their
client, so they travel to Ray workers and connect there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["LocalStore", "ObjectInfo", "S3Store", "Store", "split_s3_uri"]


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object: its key, size in bytes and a version (mtime in ns, or the ETag)."""

    key: str
    size: int
    version: str


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` -> ``("bucket", "some/key")``."""
    rest = uri[len("s3://") :]
    bucket, _, key = rest.partition("/")
    return bucket, key


class LocalStore:
    """A folder on a file system every worker sees (one machine, or a shared mount)."""

    kind = "local"

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).resolve()

    def uri(self, key: str) -> str:
        return str(self.root / key)

    def list_objects(self, prefix: str) -> list[ObjectInfo]:
        """Files whose key starts with `prefix` (a folder prefix or a file-name prefix)."""
        folder, _, start = prefix.rpartition("/")
        base = self.root / folder
        if not base.is_dir():
            return []
        found = []
        for path in base.rglob(f"{start}*"):
            if path.is_file() and not path.name.startswith("."):
                stat = path.stat()
                key = path.relative_to(self.root).as_posix()
                found.append(ObjectInfo(key, stat.st_size, str(stat.st_mtime_ns)))
        return sorted(found, key=lambda o: o.key)

    def get(self, key: str) -> bytes | None:
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            return None

    def put(self, key: str, body: bytes) -> None:
        """Write atomically: a reader (or a killed writer) never leaves half a file."""
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(body)
        os.replace(tmp, path)

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            (self.root / key).unlink(missing_ok=True)

    def download(self, key: str, path: Path) -> Path:
        """Local files are read in place: no copy."""
        return self.root / key

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"


@dataclass
class S3Store:
    """One S3 bucket (``endpoint_url`` points it at moto, MinIO or LocalStack)."""

    bucket: str
    endpoint_url: str | None = None
    region: str | None = None
    _client: Any = field(default=None, repr=False, compare=False)
    kind = "s3"

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_client": None}  # clients do not pickle; reconnect on arrival

    @property
    def client(self) -> Any:
        if self._client is None:
            from adverse_events.aws.clients import make_client

            self._client = make_client("s3", region=self.region, endpoint_url=self.endpoint_url)
        return self._client

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def _call(self, action: str, method: str, **kwargs: Any) -> Any:
        from adverse_events.aws.errors import translate

        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except Exception as exc:  # noqa: BLE001 - translated at the edge
            if method == "get_object" and _is_missing(exc):
                return None
            where = self.uri(kwargs.get("Key", kwargs.get("Prefix", "")))
            raise translate(exc, backend="ray-engine", action=f"{action} {where}") from exc

    def list_objects(self, prefix: str) -> list[ObjectInfo]:
        found, token = [], None
        while True:
            extra: dict[str, Any] = {"ContinuationToken": token} if token else {}
            page = self._call("list", "list_objects_v2", Prefix=prefix, **extra)
            found += [
                ObjectInfo(o["Key"], int(o["Size"]), str(o.get("ETag", "")).strip('"'))
                for o in page.get("Contents", [])
            ]
            token = page.get("NextContinuationToken")
            if not token:
                return sorted(found, key=lambda o: o.key)

    def get(self, key: str) -> bytes | None:
        response = self._call("get", "get_object", Key=key)
        return None if response is None else response["Body"].read()

    def put(self, key: str, body: bytes) -> None:
        self._call("put", "put_object", Key=key, Body=body)

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1,000 keys
            chunk = [{"Key": k} for k in keys[start : start + 1000]]
            response = self._call("delete", "delete_objects", Delete={"Objects": chunk})
            errors = (response or {}).get("Errors") or []
            if errors:
                from adverse_events.errors import TransientBackendError

                raise TransientBackendError(
                    f"delete in s3://{self.bucket}: {errors[0]}", backend="ray-engine"
                )

    def download(self, key: str, path: Path) -> Path:
        body = self.get(key)
        if body is None:
            from adverse_events.errors import InputError

            raise InputError(f"{self.uri(key)} no longer exists")
        path.write_bytes(body)
        return path


def _is_missing(exc: BaseException) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in {"NoSuchKey", "404", "NotFound"}


Store = LocalStore | S3Store
