"""Files inside DVC-cached outputs at a revision, as `dvc metrics show` reads them: dvc.lock (or
a `.dvc` file) gives the output's hash at that revision, the local DVC cache holds the content.

Plain file reads, DVC is not imported; only when the local cache lacks a file and the `dvc`
extra is installed is DVC's API asked, which reads the configured remote.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlci.sources.metric_files import Yaml12Loader

DVC_LOCK = "dvc.lock"


@dataclass(frozen=True)
class CachedOutput:
    """One `outs` entry of a dvc.lock stage or a `.dvc` file."""

    path: str
    """Relative to the DVC repository root."""
    md5: str
    """`<hex>` for a file, `<hex>.dir` for a directory."""
    legacy: bool
    """Hashed by DVC 2 (no `hash: md5` field): stored in the cache's old layout."""
    source: str
    """The dvc.lock or `.dvc` file that records it."""


@dataclass(frozen=True)
class Unavailable:
    """A metrics or params file inside a DVC output whose content this machine lacks."""

    path: str
    output: str

    def message(self, revision: str) -> str:
        """What is missing; `revision` as the user knows it (the MetricSet's label)."""
        at = "in the work tree" if revision == "workspace" else f"at {revision}"
        return (
            f"{self.path} {at} is inside the DVC output {self.output}, which is neither in "
            "the local DVC cache nor readable from a DVC remote"
        )

    @property
    def hint(self) -> str:
        return (
            f"run `dvc pull {self.output}` (for older revisions `dvc fetch --all-commits "
            f"{self.output}`), or configure the DVC remote and its credentials"
        )


def outputs_in(files: Mapping[str, bytes], stage_dirs: Mapping[str, str]) -> list[CachedOutput]:
    """The outputs recorded in dvc.lock and `.dvc` files (path relative to the DVC root ->
    content); `stage_dirs` gives each stage's resolved `wdir` (stage name -> directory)."""
    found: list[CachedOutput] = []
    for source, text in files.items():
        data = _load(text)
        directory = posixpath.dirname(source)
        if posixpath.basename(source) == DVC_LOCK:
            stages = data.get("stages") if "schema" in data or "stages" in data else data
            for name, stage in stages.items() if isinstance(stages, dict) else []:
                if not isinstance(stage, dict):
                    continue
                key = f"{directory}/{name}" if directory else str(name)
                wdir = stage_dirs.get(key, stage_dirs.get(key.split("@", 1)[0], directory))
                found.extend(_outputs(stage.get("outs"), wdir, source))
        else:
            wdir = _join(directory, str(data.get("wdir") or "."))
            found.extend(_outputs(data.get("outs"), wdir, source))
    return found


def containing(outputs: Iterable[CachedOutput], path: str) -> CachedOutput | None:
    """The output that is `path` or holds it (the deepest one)."""
    best: CachedOutput | None = None
    for output in outputs:
        inside = path == output.path or path.startswith(output.path.rstrip("/") + "/")
        if inside and (best is None or len(output.path) > len(best.path)):
            best = output
    return best


class DvcCache:
    """The local cache of the DVC repository at `root` (`cache.dir` from .dvc/config), and,
    when the `dvc` extra is installed and a default remote is configured, that remote."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.directory = _cache_dir(root)
        self._remote: ReadObject | None = None
        self._remote_tried = False
        self._close_remote: Callable[[], None] | None = None

    def __enter__(self) -> DvcCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the DVC repository opened for the remote, if one was."""
        if self._close_remote is not None:
            self._close_remote()
            self._close_remote = None
        self._remote = None

    def read(self, output: CachedOutput, path: str) -> bytes | None:
        """`path` inside `output` from the local cache; None when the cache lacks it."""
        return _read_output(output, path, self._object)

    def read_remote(self, output: CachedOutput, path: str) -> bytes | None:
        """The same from the default DVC remote of the work tree's config (where every
        revision's objects are once pushed); None when it cannot be read."""
        if not self._remote_tried:
            self._remote_tried = True
            if dvc_config(self.root).get("core", {}).get("remote"):
                opened = _remote_objects(self.root)
                if opened is not None:
                    self._remote, self._close_remote = opened
        if self._remote is None:
            return None
        return _read_output(output, path, self._remote)

    def _object(self, md5: str, legacy: bool) -> bytes | None:
        if len(md5) < 3:
            return None
        layouts = [self.directory / md5[:2] / md5[2:]]
        new = self.directory / "files" / "md5" / md5[:2] / md5[2:]
        layouts.insert(0 if not legacy else 1, new)
        for candidate in layouts:
            try:
                return candidate.read_bytes()
            except OSError:
                continue
        return None


ReadObject = Callable[[str, bool], "bytes | None"]


def _read_output(output: CachedOutput, path: str, read_object: ReadObject) -> bytes | None:
    if not output.md5.endswith(".dir"):
        return read_object(output.md5, output.legacy) if path == output.path else None
    listing = read_object(output.md5, output.legacy)
    if listing is None:
        return None
    relative = path[len(output.path) :].lstrip("/")
    try:
        entries = json.loads(listing)
    except ValueError:
        return None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("relpath") == relative:
            return read_object(str(entry.get("md5")), output.legacy)
    return None


def _remote_objects(root: Path) -> tuple[ReadObject, Callable[[], None]] | None:
    """Objects of the default remote through DVC (extra `mlci[dvc]`), and what closes the DVC
    repository they are read through; None without DVC."""
    try:
        from dvc.repo import Repo
    except ImportError:
        return None
    try:
        repo = Repo(str(root))
    except Exception:  # not a DVC repository after all
        return None
    stores: dict[bool, Any] = {}

    def read_object(md5: str, legacy: bool) -> bytes | None:
        try:
            if legacy not in stores:
                hash_name = "md5-dos2unix" if legacy else "md5"
                stores[legacy] = repo.cloud.get_remote_odb(command="fetch", hash_name=hash_name)
            store = stores[legacy]
            content: bytes = store.fs.cat_file(store.oid_to_path(md5))
        except Exception:  # DVC's errors: no such remote, missing there, no credentials, ...
            return None
        return content

    return read_object, repo.close


def _outputs(entries: Any, directory: str, source: str) -> list[CachedOutput]:
    found = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or "path" not in entry or not entry.get("md5"):
            continue
        found.append(
            CachedOutput(
                path=_join(directory, str(entry["path"])),
                md5=str(entry["md5"]),
                legacy=entry.get("hash") != "md5",
                source=source,
            )
        )
    return found


def _load(text: bytes) -> dict[str, Any]:
    try:
        data = yaml.load(text.decode("utf-8"), Loader=Yaml12Loader)
    except (ValueError, yaml.YAMLError):
        return {}  # `mlci dvc changes` reports a broken lock file; here it holds no outputs
    return data if isinstance(data, dict) else {}


def _cache_dir(root: Path) -> Path:
    configured = dvc_config(root).get("cache", {}).get("dir")
    if not configured:
        return root / ".dvc" / "cache"
    path = Path(configured).expanduser()
    return path if path.is_absolute() else (root / ".dvc" / path).resolve()


def dvc_config(root: Path) -> dict[str, dict[str, str]]:
    """.dvc/config overlaid with .dvc/config.local (configobj's INI: indented `key = value`)."""
    sections: dict[str, dict[str, str]] = {}
    for name in ("config", "config.local"):
        try:
            lines = (root / ".dvc" / name).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        section: dict[str, str] = {}
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("[") and line.endswith("]"):
                name = line[1:-1].strip()
                if len(name) > 1 and name[0] == name[-1] == "'":
                    name = name[1:-1]
                section = sections.setdefault(name, {})
            elif "=" in line:
                key, _, value = line.partition("=")
                section[key.strip()] = value.strip().strip("'\"")
    return sections


def _join(directory: str, relative: str) -> str:
    return (
        posixpath.normpath(posixpath.join(directory, relative))
        if directory
        else posixpath.normpath(relative)
    )
