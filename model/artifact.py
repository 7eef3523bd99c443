"""The trained model artifact: a directory of gzip-compressed pickles, one per trained component
(`<name>.pkl.gz`), plus meta.json.

Format 2 replaced format 1's joblib files: joblib unpickles with the pure-Python unpickler (to
handle numpy arrays itself), which took ~1.1 s of every start on the vocabularies' 230k strings;
the C unpickler reads the same objects in ~0.2 s, and pickle protocol 5 stores arrays as compact.

meta.json records the format version, the code version, the library versions, the training data
hashes, the labels and the metrics. Loading checks the format version and the scikit-learn
version and refuses an incompatible artifact with a clear message. Saving writes to a temporary
directory and renames it into place, so a crash never leaves a half-written artifact.
"""
from __future__ import annotations

import gzip
import json
import logging
import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sklearn

from otklik import __version__ as CODE_VERSION

from .errors import ArtifactError

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
META_FILE = "meta.json"
SUFFIX = ".pkl.gz"


def component_file(path: Path, name: str) -> Path:
    return path / f"{name}{SUFFIX}"


def dump_component(obj: Any, file: Path) -> None:
    # mtime=0: the same model gives the same bytes (git keeps every version of the artifact)
    file.write_bytes(gzip.compress(pickle.dumps(obj, protocol=5), compresslevel=6, mtime=0))


def load_component(file: Path) -> Any:
    """Trusted files only, as with any pickle: the artifact ships with the code."""
    return pickle.loads(gzip.decompress(file.read_bytes()))  # noqa: S301


@dataclass
class Artifact:
    path: Path
    meta: dict[str, Any]
    components: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.meta.get("model_version", "unknown"))

    def get(self, name: str) -> Any | None:
        return self.components.get(name)


def _sklearn_major_minor(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".")[:2] if p.isdigit())


def read_meta(path: Path | str) -> dict[str, Any]:
    meta_path = Path(path) / META_FILE
    if not meta_path.is_file():
        raise ArtifactError(f"expected a model artifact with {META_FILE} at {path}, found none")
    try:
        return json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{meta_path}: expected JSON, got a parse error: {exc}") from exc


def check_meta(meta: dict[str, Any], path: Path | str) -> None:
    fmt = meta.get("format_version")
    if fmt != FORMAT_VERSION:
        raise ArtifactError(
            f"{path}: expected artifact format version {FORMAT_VERSION}, got {fmt!r}; retrain with `otklik train`"
        )
    trained_with = str(meta.get("sklearn_version", ""))
    if _sklearn_major_minor(trained_with) != _sklearn_major_minor(sklearn.__version__):
        raise ArtifactError(
            f"{path}: expected an artifact trained with scikit-learn {sklearn.__version__[:4]}.x, "
            f"got one trained with {trained_with or 'an unknown version'}; install the pinned versions "
            f"(make install) or retrain with `otklik train`"
        )


def load_artifact(path: Path | str) -> Artifact:
    path = Path(path)
    meta = read_meta(path)
    check_meta(meta, path)
    components = {}
    for name in meta.get("components", {}):
        file = component_file(path, name)
        if not file.is_file():
            raise ArtifactError(f"{path}: expected component file {file.name}, found none")
        try:
            components[name] = load_component(file)
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            raise ArtifactError(f"{file}: expected a gzip-compressed pickle, got an unreadable file: {exc}") from exc
    log.info("loaded model %s from %s (%s)", meta.get("model_version"), path, ", ".join(components))
    return Artifact(path, meta, components)


def save_artifact(
    path: Path | str,
    components: dict[str, Any],
    component_meta: dict[str, dict[str, Any]],
    extra_meta: dict[str, Any] | None = None,
) -> Artifact:
    """Write (or update) an artifact. Components not given are kept from an existing artifact."""
    path = Path(path)
    old_meta: dict[str, Any] = {}
    old_components: dict[str, Any] = {}
    if (path / META_FILE).is_file():
        old_meta = read_meta(path)
        if old_meta.get("format_version") == FORMAT_VERSION:
            old_components = {n: component_file(path, n) for n in old_meta.get("components", {})}
    all_meta = dict(old_meta.get("components", {})) if old_components else {}
    all_meta.update(component_meta)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    meta = {
        "format_version": FORMAT_VERSION,
        "model_version": f"otklik-{CODE_VERSION}-{now.strftime('%Y%m%d%H%M%S')}",
        "code_version": CODE_VERSION,
        "sklearn_version": sklearn.__version__,
        "created_at": now.isoformat(),
        "components": all_meta,
        **(extra_meta or {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; the artifact is read by every user of the install
    try:
        for name, obj in components.items():
            dump_component(obj, component_file(tmp, name))
        for name, file in old_components.items():
            if name not in components and file.is_file():
                shutil.copy2(file, tmp / file.name)
        (tmp / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        backup = None
        if path.exists():
            backup = path.with_name(f".{path.name}.old")
            shutil.rmtree(backup, ignore_errors=True)
            os.replace(path, backup)
        os.replace(tmp, path)
        if backup is not None:
            shutil.rmtree(backup, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return load_artifact(path)
