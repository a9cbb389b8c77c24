"""A study folder on object storage: what `utility-gap run --out s3://bucket/prefix` needs beyond Inspect.

Inspect writes and reads its logs at any fsspec URL itself (`eval_set(log_dir="s3://...")`,
`list_eval_logs`, `read_eval_log`). The suite's own small files (utilities, pairs and
study files) go through `analysis/locations.py`, one object write each. This module does
what a bucket cannot do like a disk:

- `check_writable` / `check_readable`: an `--out` that cannot be written, or an input on
  a store that cannot be asked, fails before any model call or output, with the flag,
  the URL, the store's reason (no such bucket, no credentials, no server) and the fix;
- `report_folder_at` / `write_report_at`: a report folder at a URL is built in a local
  temporary folder, then published (`publish_folder`): the old marker goes first, then
  every file, then files of an older report are removed, and the new marker (which
  lists the files) is written last. A reader that finds the marker finds every file it
  lists. A remote folder holding files the report did not write is refused first, by
  the same rule as a local one (`analysis/report/writer.py`);
- `local_folder`: a small remote folder (the utilities files) copied to a local
  temporary one, for readers that take a local folder.

Credentials and the endpoint come from the environment, as for Inspect (for S3:
`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT_URL` for an S3-compatible
server, ...).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from utility_gap.analysis.locations import Location, is_url, location
from utility_gap.analysis.report import ReportSettings, write_report
from utility_gap.analysis.report.writer import MARKER_FILE, refuse_foreign_files

__all__ = ["StorageError", "check_readable", "check_urls", "check_writable", "is_url", "local_folder", "publish_folder", "report_folder_at",
           "write_report_at"]


class StorageError(OSError):
    """An `--out` (or input) on object storage that cannot be used; the message says why."""


def check_writable(out: Location | str, flag: str = "--out") -> None:
    """Write and delete a small object (remote) or file (local) in `out`, or raise naming `flag`."""
    if not is_url(out):
        try:
            Path(out).mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=out, prefix=".write-check-"):
                pass
        except OSError as ex:
            raise StorageError(f"{flag} {out} is not a writable directory ({ex.strerror or ex}).") from None
        return
    try:
        probe = location(out) / f".write-check-{uuid.uuid4().hex}"
        probe.write_text("")
        probe.unlink()
    except Exception as ex:  # the store's own error: no bucket, no credentials, no network
        raise StorageError(store_failure(flag, out, "be written", ex)) from None


def check_readable(value: Location | str, flag: str) -> None:
    """Ask the store of a URL one question now (does `value` exist?), or raise naming `flag`.

    A missing object is not an error here (the command says what it expected there); a
    store that cannot be asked (no credentials, no network, no s3fs) is.
    """
    if not is_url(value):
        return
    try:
        target = location(value)
        bucket = target.path.split("/")[0]  # type: ignore[union-attr]
        missing = not target.exists() and not target.fs.exists(bucket)  # type: ignore[union-attr]
    except Exception as ex:
        raise StorageError(store_failure(flag, value, "be read", ex)) from None
    if missing:
        raise StorageError(
            f"{flag} {value} cannot be read: there is no bucket '{bucket}' on this store. Check the bucket name "
            "(and AWS_ENDPOINT_URL, for an S3-compatible server)."
        )


def check_urls(*, reads: Iterable[tuple[str, object]] = (), writes: Iterable[tuple[str, object]] = ()) -> None:
    """A command's (flag, value) pairs at URLs checked before it reads or writes anything.

    Local paths are left to the command (a local output folder is not created early).
    """
    for flag, value in reads:
        if value is not None and is_url(value):
            check_readable(value, flag)  # type: ignore[arg-type]
    for flag, value in writes:
        if value is not None and is_url(value):
            check_writable(value, flag)  # type: ignore[arg-type]


def store_failure(flag: str, where: object, action: str, ex: BaseException) -> str:
    """One paragraph: the flag and URL, the store's reason, and what would fix it."""
    kind = type(ex).__name__
    if isinstance(ex, ImportError):  # fsspec names the package the scheme needs
        fix = "For s3:// install the s3 extra: pip install 'utility-gap[s3]'." if str(where).startswith("s3://") else ""
    elif kind == "NoCredentialsError":
        fix = ("No credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the "
               "environment.")
    elif kind in ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionError", "ClientConnectorError"):
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        fix = (f"The store cannot be reached: check AWS_ENDPOINT_URL (now {endpoint}) and that the server is up."
               if endpoint else "The store cannot be reached: check the network (or AWS_ENDPOINT_URL for an "
               "S3-compatible server).")
    elif isinstance(ex, FileNotFoundError):
        fix = "Check the bucket name (create the bucket first; utility-gap does not create buckets)."
    elif isinstance(ex, PermissionError):
        fix = "The credentials in the environment are not allowed to do this: check AWS_ACCESS_KEY_ID and the bucket's policy."
    else:
        fix = ("Check the bucket name and the credentials in the environment (for S3: AWS_ACCESS_KEY_ID, "
               "AWS_SECRET_ACCESS_KEY, and AWS_ENDPOINT_URL for an S3-compatible server).")
    return f"{flag} {where} cannot {action} ({kind}: {ex}). {fix}".rstrip()


def remote_files(target: Location | str) -> list[str]:
    """Relative names of the files under a remote folder (empty when there is none)."""
    remote = location(target)
    fs, root = remote.fs, remote.path.rstrip("/")
    fs.invalidate_cache()
    if not fs.exists(root):
        return []
    return sorted(p[len(root) :].lstrip("/") for p in fs.find(root))


def publish_folder(local: Path, target: Location | str, marker: str) -> None:
    """Upload the folder `local` to the remote folder `target`, `marker` (a file in `local`) last.

    While the upload is under way `target` has no marker; files under `target` that the
    new folder lacks are deleted, so it ends up holding exactly the new folder.
    """
    remote = location(target)
    fs, root = remote.fs, remote.path.rstrip("/")
    new = sorted(p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file())
    if marker not in new:
        raise StorageError(f"{local} has no {marker}; only a finished folder is uploaded.")
    old = remote_files(target)
    if marker in old:
        fs.rm_file(f"{root}/{marker}")
    for name in new:
        if name != marker:
            fs.put_file(str(local / name), f"{root}/{name}")
    stale = [f"{root}/{name}" for name in old if name not in new]
    if stale:
        fs.rm(stale)
    fs.put_file(str(local / marker), f"{root}/{marker}")


@contextlib.contextmanager
def local_folder(folder: Location | str | None) -> Iterator[Path | None]:
    """`folder` itself when local; a temporary local copy of it when remote (removed after)."""
    if folder is None or not is_url(folder):
        yield None if folder is None else Path(folder)
        return
    remote = location(folder)
    fs, root = remote.fs, remote.path.rstrip("/")
    with tempfile.TemporaryDirectory(prefix="utility-gap-") as temp:
        copy = Path(temp) / "copy"
        copy.mkdir()
        for name in remote_files(remote):
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            fs.get_file(f"{root}/{name}", str(copy / name))
        yield copy


def report_folder_at(out: Location | str, build: Callable[[Path], Path]) -> str:
    """Run `build(folder)` (a report writer returning report.md) into `out`; returns where report.md is.

    Local: `build(out)` itself. Remote: refused if `out` holds files no report wrote;
    else built in a local temporary folder and published with the report's marker last.
    """
    if not is_url(out):
        return str(build(Path(str(out))))
    present = set(remote_files(out))
    if present:
        refuse_foreign_files(location(out), present)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory(prefix="utility-gap-report-") as temp:
        local = Path(temp) / "report"
        made = build(local)
        publish_folder(local, out, MARKER_FILE)
        return str(location(out) / Path(os.path.relpath(made, local)).as_posix())


def write_report_at(log_dir: Location | str, out: Location | str, settings: ReportSettings) -> str:
    """`write_report` with any of the logs, the report folder and the utilities folder at a URL.

    A remote utilities folder is read from a local copy. Returns where report.md is.
    """
    with local_folder(settings.utilities_dir) as utilities:
        local_settings = replace(settings, utilities_dir=utilities)
        return report_folder_at(out, lambda folder: write_report(log_dir, folder, local_settings))  # type: ignore[arg-type]  # it reads URLs
