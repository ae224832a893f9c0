"""Reading and writing model files: atomic saves, external data, plain errors."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import onnx

from rasp_ir.errors import RaspModelError


def _file_mode(path: Path) -> int:
    """The mode a new file gets (0666 less the umask), or the mode of the file replaced."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def save_onnx(model: onnx.ModelProto, path: str | os.PathLike[str], *, external_data: bool = False) -> None:
    """Write `model` atomically: into a temporary file next to `path`, then renamed over it.

    With `external_data`, the weights go to `<name>.data` beside the model file (for models
    too large for one 2 GB protobuf); both files are complete before either is renamed.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.exists():
        raise RaspModelError(f"cannot write '{path}': the directory '{directory}' does not exist")
    if not directory.is_dir():
        raise RaspModelError(f"cannot write '{path}': '{directory}' is not a directory")
    if path.exists() and not path.is_file():
        raise RaspModelError(f"cannot write '{path}': it exists and is not a regular file")
    try:
        _save(model, path, directory, external_data)
    except OSError as e:
        raise RaspModelError(f"cannot write '{path}': {e.strerror or e}") from None


def _save(model: onnx.ModelProto, path: Path, directory: Path, external_data: bool) -> None:
    if not external_data:
        data = model.SerializeToString()
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, _file_mode(path))  # mkstemp makes 0600 files; give the usual mode
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return
    copy = onnx.ModelProto()
    copy.CopyFrom(model)  # onnx rewrites the tensors in place when it saves external data
    location = f"{path.name}.data"
    with tempfile.TemporaryDirectory(prefix=f".{path.name}.", dir=directory) as tmpdir:
        tmp_model = Path(tmpdir) / path.name
        onnx.save_model(
            copy,
            str(tmp_model),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=location,
            size_threshold=0,
        )
        os.replace(Path(tmpdir) / location, directory / location)
        os.replace(tmp_model, path)


def load_onnx(path: str | os.PathLike[str]) -> onnx.ModelProto:
    """Read an ONNX model (and its external data), or say plainly why it cannot be read."""
    path = Path(path)
    if not path.exists():
        raise RaspModelError(f"'{path}': no such model file")
    if path.is_dir():
        raise RaspModelError(f"'{path}' is a directory, not a model file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # protobuf's DecodeError, or anything else a broken file causes
        raise RaspModelError(
            f"'{path}' is not a readable ONNX model (it may be truncated or another kind of file): {e}"
        ) from None
    external = {
        entry.value
        for tensor in model.graph.initializer
        if tensor.data_location == onnx.TensorProto.EXTERNAL
        for entry in tensor.external_data
        if entry.key == "location"
    }
    for location in sorted(external):
        if not (path.parent / location).is_file():
            raise RaspModelError(
                f"'{path}': the model's external weight file '{location}' is missing; "
                "keep it in the same folder as the model file"
            )
    if external:
        try:
            onnx.load_external_data_for_model(model, str(path.parent))
        except Exception as e:
            raise RaspModelError(f"'{path}': cannot read the external weights ({e})") from None
    if not model.graph.node and not model.metadata_props:
        raise RaspModelError(f"'{path}' is not an ONNX model (it parses to an empty model)")
    try:
        onnx.checker.check_model(model)
    except Exception as e:
        raise RaspModelError(f"'{path}' is a damaged ONNX model (it may be truncated): {e}") from None
    return model
