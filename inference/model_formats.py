"""The two file formats of the model registry — TorchScript and ONNX — behind one runner.

* :func:`detect_format` tells them apart from the first bytes (a TorchScript archive is a zip
  file; ONNX is protobuf), so an admin never has to say which one they upload.
* :func:`load_torchscript` loads an archive; when it refers to operators this server lacks
  (``torchvision::nms``, ``torchvision::roi_align`` of a scripted torchvision detector), the
  error names every one of them instead of a generic "not a TorchScript model".
* :class:`Runner` runs either format on numpy arrays and returns numpy: the output structure
  of a TorchScript module (tensor, dict, list, tuple) is kept; an ONNX model returns a dict of
  its outputs by name, in the model's order.

Which inputs and outputs each task expects is in :mod:`inference.model_contracts`.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field

import numpy as np

from .onnx_runtime import OnnxModel, OnnxModelError, TensorInfo, open_model, unknown_ops_message

FORMATS = ("torchscript", "onnx")
#: how much TorchScript source is read to name missing operators (a zip bomb reads no more)
MAX_CODE_BYTES = 16 * 1024 * 1024
#: operator namespaces that are part of torch itself
_TORCH_NAMESPACES = {"aten", "prim", "quantized", "_quantized", "profiler", "cuda", "_caffe2"}


class ModelFileError(ValueError):
    """The weights file cannot be loaded (message for users)."""


def detect_format(data: bytes) -> str:
    """'torchscript' or 'onnx' from the file's first bytes; ModelFileError for anything else."""
    if not data:
        raise ModelFileError("the weights file is empty")
    if data[:4] == b"PK\x03\x04":
        return "torchscript"
    if data[0] == 0x08:  # protobuf field 1 (ir_version), varint: every ONNX file starts so
        return "onnx"
    raise ModelFileError(
        "the file is neither TorchScript (a zip archive written by torch.jit.save) nor ONNX "
        "(a protobuf file written by torch.onnx.export / onnx.save)"
    )


def _missing_torch_ops(data: bytes) -> list[str]:
    """``ns::op`` of every operator the archive's code calls that torch does not know."""
    import torch

    names: list[str] = []
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return names
    budget = MAX_CODE_BYTES
    for info in archive.infolist():
        if "/code/" not in info.filename or not info.filename.endswith(".py"):
            continue
        if info.file_size > budget:
            break
        budget -= info.file_size
        with archive.open(info) as handle:
            code = handle.read(info.file_size + 1).decode("utf-8", "replace")
        for ns, op in re.findall(r"\bops\.(\w+)\.(\w+)\s*\(", code):
            name = f"{ns}::{op}"
            if ns in _TORCH_NAMESPACES or name in names:
                continue
            try:
                getattr(getattr(torch.ops, ns), op)
            except (AttributeError, RuntimeError):
                names.append(name)
    return names


def load_torchscript(data: bytes):
    """A TorchScript module on the CPU in eval mode, or ModelFileError saying why not."""
    import torch

    try:
        module = torch.jit.load(io.BytesIO(data), map_location="cpu")
    except Exception as exc:  # RuntimeError, ValueError, zip errors
        text = str(exc)
        missing = _missing_torch_ops(data)
        found = re.search(r"Unknown builtin op: ([\w:]+)", text)
        if found and found.group(1).rstrip(".") not in missing:
            missing.insert(0, found.group(1).rstrip("."))
        if missing:
            raise ModelFileError(unknown_ops_message(missing)) from exc
        first = next((line for line in text.splitlines() if line.strip()), type(exc).__name__)
        raise ModelFileError(
            f"not a loadable TorchScript model (torch.jit.load failed: {first.strip()[:300]}); "
            "export with torch.jit.trace/script and torch.jit.save, or upload ONNX"
        ) from exc
    module.eval()
    return module


def _to_numpy(value):
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, dict):
        return {k: _to_numpy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_to_numpy(v) for v in value)
    return value


@dataclass
class Runner:
    """A loaded model of either format; ``run(*arrays)`` feeds the inputs in order."""

    format: str
    module: object = None  # TorchScript module
    onnx: OnnxModel | None = None
    inputs: list[TensorInfo] = field(default_factory=list)
    outputs: list[TensorInfo] = field(default_factory=list)

    def run(self, *arrays: np.ndarray, names: list[str] | None = None):
        """Outputs as numpy. ONNX: a dict by output name; TorchScript: the module's structure."""
        if self.format == "onnx":
            names = names or [i.name for i in self.inputs[: len(arrays)]]
            feeds = {}
            for name, array in zip(names, arrays, strict=True):
                info = self.onnx.input(name)
                feeds[name] = np.ascontiguousarray(array, dtype=info.dtype if info else None)
            return self.onnx.run(feeds)
        import torch

        tensors = [torch.from_numpy(np.ascontiguousarray(a)) for a in arrays]
        with torch.inference_mode():
            return _to_numpy(self.module(*tensors))

    def describe(self) -> dict:
        if self.onnx is not None:
            return self.onnx.describe()
        return {"inputs": ["(1, 3, S, S) float"], "outputs": ["see the task's contract"]}


def load_runner(data: bytes, threads: int | None = None) -> Runner:
    """Load TorchScript or ONNX bytes (format detected); ModelFileError with the reason."""
    kind = detect_format(data)
    if kind == "torchscript":
        return Runner("torchscript", module=load_torchscript(data))
    try:
        model = open_model(data, threads=threads)
    except OnnxModelError as exc:
        raise ModelFileError(str(exc)) from exc
    return Runner("onnx", onnx=model, inputs=model.inputs, outputs=model.outputs)


__all__ = [
    "FORMATS",
    "ModelFileError",
    "Runner",
    "detect_format",
    "load_runner",
    "load_torchscript",
]
