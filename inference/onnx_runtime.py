"""ONNX models on ONNX Runtime (CPU): parse, check the operators, open a session, run.

The model registry (:mod:`inference.model_formats`) uses this for uploaded ``.onnx`` files,
and anything else that runs ONNX graphs (e.g. OCR detectors shipped inside a package) can
use :func:`open_model` the same way. Nothing here downloads anything.

* :func:`parse_model` — bytes → ``onnx.ModelProto``; refuses an empty file, a file that is
  not ONNX, tensors stored outside the file (external data), operators ONNX Runtime does not
  have (named: ``torchvision::nms``, ``FooBar`` of domain ``ai.onnx``...).
* :func:`open_model` — an :class:`OnnxModel`: an ``InferenceSession`` plus the names,
  shapes and element types of its inputs and outputs; ``run(feeds)`` returns a dict.

Errors are :class:`OnnxModelError` with a message meant for the person who uploaded the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: operator domains ONNX Runtime's CPU build implements (besides functions defined in the file)
RUNTIME_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "com.microsoft", "com.microsoft.nchwc"})
#: domains whose schemas the onnx package knows (so an op can be checked before ORT sees it)
SCHEMA_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml"})
#: element types of tensors as ONNX Runtime names them → numpy
_ORT_TYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(uint8)": np.uint8,
    "tensor(int8)": np.int8,
    "tensor(bool)": np.bool_,
}


class OnnxModelError(ValueError):
    """The file is not a usable ONNX model (message for users)."""


@dataclass(frozen=True)
class TensorInfo:
    """One input or output: name, shape (ints for fixed dims, str/None for free ones), type."""

    name: str
    shape: tuple
    type: str

    @property
    def dtype(self) -> type:
        return _ORT_TYPES.get(self.type, np.float32)

    def fixed(self, axis: int) -> int | None:
        """The size of ``axis`` if the model fixes it, else None."""
        if axis >= len(self.shape) or axis < -len(self.shape):
            return None
        dim = self.shape[axis]
        return dim if isinstance(dim, int) and dim > 0 else None

    def describe(self) -> str:
        dims = ", ".join(str(d) if isinstance(d, int) else (d or "?") for d in self.shape)
        return f"{self.name} ({dims}) {self.type.removeprefix('tensor(').rstrip(')')}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0][:300]


def _nodes(graph):
    """Every node of a graph, including those of sub-graphs (If / Loop / Scan bodies)."""
    import onnx

    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _nodes(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for sub in attr.graphs:
                    yield from _nodes(sub)


def missing_operators(model) -> list[str]:
    """Operators of ``model`` that ONNX Runtime does not implement, as ``domain::Op``
    (``ai.onnx`` ops are checked against the model's opset: an op newer than the opset
    the file declares is missing too). Functions defined inside the file are fine."""
    import onnx

    local = {(f.domain, f.name) for f in model.functions}
    opsets = {imp.domain or "": imp.version for imp in model.opset_import}
    missing: list[str] = []
    for node in _nodes(model.graph):
        domain = node.domain or ""
        if (domain, node.op_type) in local:
            continue
        name = f"{domain or 'ai.onnx'}::{node.op_type}"
        if name in missing:
            continue
        if domain not in RUNTIME_DOMAINS:
            missing.append(name)
        elif domain in SCHEMA_DOMAINS:
            version = opsets.get(domain, opsets.get("ai.onnx" if domain == "" else domain, 1))
            try:
                onnx.defs.get_schema(node.op_type, version, domain)
            except onnx.defs.SchemaError:
                missing.append(name)
    return missing


def parse_model(data: bytes, max_bytes: int | None = None):
    """Parse ONNX bytes; OnnxModelError naming what is wrong (see the module docstring)."""
    import onnx

    if not data:
        raise OnnxModelError("the weights file is empty")
    if max_bytes is not None and len(data) > max_bytes:
        raise OnnxModelError(f"the file is {len(data)} bytes; at most {max_bytes} are accepted")
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf DecodeError and friends
        raise OnnxModelError(
            f"not an ONNX model (protobuf parse failed: {_first_line(exc)})"
        ) from exc
    if not model.graph.node or not model.graph.input or not model.graph.output:
        raise OnnxModelError("not an ONNX model (no graph with inputs, nodes and outputs)")
    external = [
        t.name for t in model.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL
    ]
    if external:
        raise OnnxModelError(
            f"the model keeps {len(external)} tensor(s) in external data files (e.g. "
            f"'{external[0]}'); save it as one file (onnx.save_model(..., "
            "save_as_external_data=False))"
        )
    missing = missing_operators(model)
    if missing:
        raise OnnxModelError(unknown_ops_message(missing))
    return model


def unknown_ops_message(ops: list[str]) -> str:
    """The upload error for operators the server cannot run."""
    names = ", ".join(ops[:8]) + (f" and {len(ops) - 8} more" if len(ops) > 8 else "")
    hint = ""
    if any(op.startswith("torchvision::") for op in ops):
        hint = (
            " torchvision's custom operators are not available here; export the model with "
            "torch.onnx.export (standard opset), where nms and roi_align become the ONNX "
            "operators NonMaxSuppression and RoiAlign"
        )
    return f"the model uses operator(s) this server does not have: {names}.{hint}"


_RUNTIME_MISSING = (
    re.compile(r"(\S+?):(\S+?)\(-?\d+\) is not a registered function/op"),
    re.compile(r"No Op registered for (\S+) with domain_version of \d+"),
    re.compile(r"Could not find an implementation for (\S+?)\(\d+\)"),
)


def _runtime_error(exc: BaseException) -> OnnxModelError:
    text = str(exc)
    for pattern in _RUNTIME_MISSING:
        found = pattern.search(text)
        if found:
            op = "::".join(found.groups()) if len(found.groups()) == 2 else found.group(1)
            return OnnxModelError(unknown_ops_message([op]))
    return OnnxModelError(f"ONNX Runtime cannot load the model: {_first_line(exc)}")


class OnnxModel:
    """An ONNX Runtime session on the CPU with the description of its inputs and outputs."""

    def __init__(self, session):
        self.session = session
        self.inputs = [self._info(i) for i in session.get_inputs()]
        self.outputs = [self._info(o) for o in session.get_outputs()]

    @staticmethod
    def _info(arg) -> TensorInfo:
        shape = tuple(d if isinstance(d, int) else (d or None) for d in (arg.shape or ()))
        return TensorInfo(arg.name, shape, arg.type)

    def input(self, name: str) -> TensorInfo | None:
        return next((i for i in self.inputs if i.name == name), None)

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Outputs by name; OnnxModelError with the runtime's first line if the run fails."""
        try:
            values = self.session.run(None, feeds)
        except Exception as exc:  # onnxruntime raises its own exception classes
            shapes = ", ".join(f"{k} {tuple(np.shape(v))}" for k, v in feeds.items())
            raise OnnxModelError(
                f"the model failed on inputs {shapes}: {_first_line(exc)}"
            ) from exc
        return {o.name: np.asarray(v) for o, v in zip(self.outputs, values, strict=True)}

    def describe(self) -> dict:
        return {
            "inputs": [i.describe() for i in self.inputs],
            "outputs": [o.describe() for o in self.outputs],
        }


def open_model(
    source: bytes | str | Path, threads: int | None = None, max_bytes: int | None = None
) -> OnnxModel:
    """Parse, check and open an ONNX model (bytes or a path) on the CPU."""
    import onnxruntime as ort

    data = Path(source).read_bytes() if isinstance(source, str | Path) else source
    parse_model(data, max_bytes)
    options = ort.SessionOptions()
    options.log_severity_level = 3  # warnings about unused initializers etc. are noise here
    if threads:
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise _runtime_error(exc) from exc
    return OnnxModel(session)


def looks_like_onnx(data: bytes) -> bool:
    """A cheap sniff: ONNX files are protobuf starting with ir_version (field 1, varint)."""
    return len(data) > 2 and data[0] == 0x08


__all__ = [
    "OnnxModel",
    "OnnxModelError",
    "TensorInfo",
    "looks_like_onnx",
    "missing_operators",
    "open_model",
    "parse_model",
    "unknown_ops_message",
]
