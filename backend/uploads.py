"""Workspace uploads: a workspace YAML plus its records (Parquet or CSV) and, optionally, a change log.

Files are checked (size, emptiness, type by name and content), written to a fresh folder under the
data dir, and validated with the same loaders as any workspace (`data.sources.open_workspace`). Any
failure removes the folder and stores nothing; the error names the uploaded file at fault.

A gzip-compressed CSV counts with its decompressed size: it is decompressed once, in chunks, only to
count, and refused (413) as soon as the count passes the limit, so a small file holding gigabytes is
never expanded in full. Change logs in other compressed formats (which pandas would expand) are refused.
"""

from __future__ import annotations

import gzip
import shutil
import uuid
import zlib
from pathlib import Path
from typing import BinaryIO

import yaml
from sqlalchemy.orm import Session

from backend.actors import Actor
from backend.crud import workspaces
from backend.errors import Invalid, TooLarge, UnsupportedType, size_text
from backend.models import Workspace
from data.errors import UserError
from data.paths import PathGuard
from data.sources import CSV_SUFFIXES, PARQUET_SUFFIXES

CHUNK = 1024 * 1024
OTHER_COMPRESSION = (".bz2", ".zip", ".xz", ".zst", ".tar", ".tgz")  # pandas would expand these on reading


def safe_name(filename: str | None, fallback: str) -> str:
    name = Path(filename or fallback).name.strip().replace("\x00", "")
    return name if name and name not in (".", "..") else fallback


def _copy_limited(src: BinaryIO, dest: Path, limit: int, label: str, used: int) -> int:
    """Copy in chunks, refusing past ``limit`` bytes in all; returns the bytes written."""
    written = 0
    with dest.open("wb") as out:
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if used + written > limit:
                raise TooLarge(f"{label}: the upload is larger than the limit of {size_text(limit)}")
            out.write(chunk)
    return written


def _stored_size(path: Path, label: str, limit: int, used: int) -> int:
    """The bytes a stored file counts for: its size, or for ``.gz`` its decompressed size. Decompression
    stops as soon as ``used`` plus the count passes ``limit`` (413)."""
    if not label.lower().endswith(".gz"):
        return path.stat().st_size
    total = 0
    try:
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                if total == 0 and b"\x00" in chunk[:64 * 1024]:
                    raise UnsupportedType(f"{label}: binary content, not a gzip-compressed text CSV file")
                total += len(chunk)
                if used + total > limit:
                    raise TooLarge(f"{label}: decompressed, the upload is larger than the limit of {size_text(limit)}")
    except (OSError, EOFError, zlib.error) as err:
        raise Invalid(f"{label}: not a valid gzip file ({err})") from None
    return total


def _records_kind(name: str, path: Path, label: str = "records") -> str:
    lower = name.lower()
    if lower.endswith(PARQUET_SUFFIXES):
        with path.open("rb") as fh:
            head = fh.read(4)
            fh.seek(-4, 2) if path.stat().st_size >= 8 else None
            tail = fh.read(4)
        if head != b"PAR1" or tail != b"PAR1":
            raise Invalid(f"{label} {name}: not a Parquet file (the PAR1 markers are missing)")
        return "parquet"
    if lower.endswith(CSV_SUFFIXES):
        if lower.endswith(".gz"):
            return "csv"
        with path.open("rb") as fh:
            sample = fh.read(64 * 1024)
        if b"\x00" in sample:
            raise UnsupportedType(f"{label} {name}: binary content, not a text CSV file")
        return "csv"
    raise UnsupportedType(f"{label} {name}: unsupported file type; upload .parquet or .csv records")


def store_table(src: BinaryIO, filename: str | None, folder: Path, stem: str, label: str, limit: int,
                used: int = 0) -> tuple[Path, int]:
    """Save an uploaded table (CSV, gzip-compressed CSV or Parquet) as ``folder/<stem>.csv|.parquet``;
    returns the stored file and the bytes it counts for. A ``.gz`` is decompressed in chunks as it is
    stored, refused (413) as soon as ``used`` plus its decompressed size passes ``limit``; the type is
    checked by name and content (Parquet markers, no binary in CSV). Errors name ``label`` and the
    uploaded file's name, never a server path; the caller removes ``folder`` on error."""
    name = safe_name(filename, f"{stem}.csv")
    raw = folder / f".{stem}.upload"
    size = _copy_limited(src, raw, limit, name, used)
    if size == 0:
        raise Invalid(f"{label} {name}: the file is empty")
    if name.lower().endswith(".gz"):
        dest, total = folder / f"{stem}.csv", 0
        try:
            with gzip.open(raw, "rb") as fh, dest.open("wb") as out:
                while chunk := fh.read(CHUNK):
                    if total == 0 and b"\x00" in chunk[:64 * 1024]:
                        raise UnsupportedType(f"{label} {name}: binary content, not a gzip-compressed text CSV file")
                    total += len(chunk)
                    if used + total > limit:
                        raise TooLarge(f"{label} {name}: decompressed, the upload is larger than the limit of "
                                       f"{size_text(limit)}")
                    out.write(chunk)
        except (OSError, EOFError, zlib.error) as err:
            raise Invalid(f"{label} {name}: not a valid gzip file ({err})") from None
        raw.unlink()
        if total == 0:
            raise Invalid(f"{label} {name}: the file is empty once decompressed")
        return dest, total
    kind = _records_kind(name, raw, label)
    dest = folder / f"{stem}.{kind}"
    raw.rename(dest)
    return dest, size


def without_server_paths(message: str, folder: Path, data_dir: Path) -> str:
    """An error about an upload, with the server's folders cut out (the uploader knows the files by name)."""
    for prefix in (folder, data_dir.resolve(), data_dir.absolute()):
        message = message.replace(str(prefix) + "/", "").replace(str(prefix), "upload")
    return message


def _spec(path: Path, name: str) -> dict:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as err:
        raise Invalid(f"workspace {name}: not a YAML text file ({str(err).splitlines()[0]})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("records"), dict):
        raise Invalid(f"workspace {name}: expected a mapping with keys name, records, metrics")
    return raw


def store_upload(session: Session, data_dir: Path, actor: Actor, *, spec: tuple[str | None, BinaryIO],
                 records: tuple[str | None, BinaryIO], changes: tuple[str | None, BinaryIO] | None,
                 limit: int, name: str | None = None, description: str = "",
                 guard: PathGuard | None = None) -> Workspace:
    """Save, validate and register an uploaded workspace; on any error nothing is kept, and no message
    names a server path."""
    folder = (data_dir / "uploads" / uuid.uuid4().hex).resolve()
    folder.mkdir(parents=True)
    try:
        used = 0
        spec_name = safe_name(spec[0], "workspace.yaml")
        spec_tmp = folder / ".workspace.upload"
        used += _copy_limited(spec[1], spec_tmp, limit, spec_name, used)
        if spec_tmp.stat().st_size == 0:
            raise Invalid(f"workspace {spec_name}: the file is empty")
        raw = _spec(spec_tmp, spec_name)
        records_name = safe_name(records[0], "records.csv")
        if records_name in ("workspace.yaml", ".workspace.upload"):
            records_name = "records-" + records_name
        records_path = folder / records_name
        size = _copy_limited(records[1], records_path, limit, records_name, used)
        if size == 0:
            raise Invalid(f"records {records_name}: the file is empty")
        used += _stored_size(records_path, records_name, limit, used)
        kind = _records_kind(records_name, records_path)
        raw["records"] = {**raw["records"], "path": records_name, "format": kind}
        if changes is not None:
            changes_name = safe_name(changes[0], "changes.csv")
            if changes_name == records_name:
                changes_name = "changes-" + changes_name
            if changes_name.lower().endswith(OTHER_COMPRESSION):
                raise UnsupportedType(f"changes {changes_name}: upload the change log as .csv or .csv.gz")
            size = _copy_limited(changes[1], folder / changes_name, limit, changes_name, used)
            if size == 0:
                raise Invalid(f"changes {changes_name}: the file is empty")
            used += _stored_size(folder / changes_name, changes_name, limit, used)
            raw["changes"] = {"path": changes_name}
        elif raw.get("changes"):
            raise Invalid(f"workspace {spec_name}: names a change log (changes.path) but no changes file was uploaded")
        spec_tmp.unlink()
        (folder / "workspace.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
        try:
            return workspaces.register(session, folder / "workspace.yaml", actor, name=name, description=description,
                                       source="upload", guard=guard)
        except UserError as err:
            if isinstance(err, Invalid):
                raise
            raise Invalid(without_server_paths(str(err), folder, data_dir)) from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
