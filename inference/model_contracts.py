"""What a registered model must take and return, per task — checked by running it once.

Every task adapter below wraps a :class:`inference.model_formats.Runner` (TorchScript or
ONNX) and turns its raw outputs into what the jobs use; ``check()`` runs it once on a small
test image and raises :class:`ContractError` with a precise message when the model does not
follow the contract. The registry (:class:`inference.models.ModelWeights`) calls
:func:`check_model` at upload; jobs build the same adapters with :func:`build_model`.

Image input (all tasks): one float tensor ``(1, 3, S, S)`` — or ``(3, S, S)`` for ONNX
models whose input has rank 3, as torchvision's detection exports do — RGB scaled to 0–1,
then ``(x − mean) / std`` per channel when the weights give ``mean``/``std`` (leave them
empty for models that normalise inside, like torchvision's). ``S`` is ``input_size``; an ONNX
input with fixed height/width must match it.

* ``depth`` — output: one map ``(1, h, w)``, ``(1, 1, h, w)`` or ``(h, w)`` (any h, w; resized
  to the view) of the kind the weights' ``output`` names: ``inverse`` = relative inverse
  depth up to scale and shift (MiDaS, Depth Anything), ``z`` = z-depth up to scale,
  ``distance`` = distance along each pixel's ray up to scale.
* ``instance_segmentation`` — either layout, found from the outputs:

  - *detections* (torchvision Mask R-CNN): ``boxes (N, 4)`` x0, y0, x1, y1 in input pixels,
    ``labels (N,)`` int indices into ``class_names`` (torchvision: 0 is the background, so
    ``class_names`` starts with ``__background__``), ``scores (N,)``, ``masks (N, 1, S, S)``
    or ``(N, S, S)`` probabilities (> 0.5 inside). ONNX outputs are taken by these names,
    else in this order; TorchScript may return the dict, ``[dict]`` or ``(losses, [dict])``.
  - *yolo* (Ultralytics YOLOv8/11-seg export): ``(1, 4 + C + M, A)`` candidates (centre x,
    y, width, height in input pixels, C class scores, M mask coefficients) and ``(1, M, mh,
    mw)`` mask prototypes, with C = ``len(class_names)``; decoded here (score threshold,
    per-class non-maximum suppression, sigmoid(coefficients · prototypes) cropped to the box).
* ``semantic_segmentation`` — logits ``(1, C, h, w)`` with C = ``len(class_names)``
  (class 0 = background).
* ``interactive_segmentation`` — a SAM / MobileSAM pair: the *encoder* (the weights file)
  maps the image (longest side resized to S, padded to S × S) to an embedding ``(1, E, h,
  w)``; the *decoder* (the ``decoder`` file, ONNX) takes the inputs of the official SAM ONNX
  export — ``image_embeddings``, ``point_coords (1, P, 2)`` in the resized image's pixels,
  ``point_labels (1, P)`` (1 positive, 0 negative, 2/3 box corners, −1 padding),
  ``mask_input (1, 1, 4h, 4w)``, ``has_mask_input (1,)``, ``orig_im_size (2,)`` — and
  returns ``masks (1, K, H, W)`` logits at the original size and ``iou_predictions (1, K)``.
* ``hdr`` — clipped-region reconstruction for the re-exposure job (:mod:`inference.reexpose`).
  The model sees the whole panorama, equirectangular, at ``W = input_size`` (even) by ``H =
  W / 2`` pixels, and takes two inputs in this order (TorchScript: ``model(radiance, mask)``;
  ONNX: its first and second input):

  - ``radiance`` ``(1, 3, H, W)`` float32: the panorama linearised by the camera response,
    RGB, 1.0 = the clipping point; clipped pixels are left as they are (at about 1.0);
  - ``mask`` ``(1, 1, H, W)`` float32 in [0, 1]: the fraction of each pixel that was clipped
    in at least one channel (1 inside a clipped region, fractional on its border).

  It returns one tensor ``(1, 3, H, W)`` of finite, non-negative linear radiance in the same
  units (values down to −1e-6 count as 0). ``mean``/``std`` are not used. The job keeps
  every unclipped channel of the linearised input bit for bit and takes the model's values
  (upsampled in log) only in clipped channels, blended in log from the input's level at the
  clipping border to the model's own value two model pixels inside (no step at the border),
  never below the clip level. The upload check runs the model once
  on a synthetic ``W × H`` sky with a clipped sun and refuses a wrong output shape, channel
  count, negative or non-finite values.
* ``sky`` / ``inpainting`` — only checked to load.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .model_formats import ModelFileError, Runner, load_runner
from .onnx_runtime import OnnxModelError, TensorInfo

DETECTION_KEYS = ("boxes", "labels", "scores", "masks")
DEPTH_OUTPUTS = ("inverse", "z", "distance")
SAM_DECODER_INPUTS = (
    "image_embeddings",
    "point_coords",
    "point_labels",
    "mask_input",
    "has_mask_input",
    "orig_im_size",
)
MAX_INPUT_SIZE = 2048


class ContractError(ValueError):
    """The model does not follow its task's contract (message for users)."""


def _shape(a) -> tuple:
    return tuple(int(d) for d in np.shape(a))


def probe_image(size: int) -> np.ndarray:
    """A deterministic uint8 test view: a colour gradient with a bright square and a disc."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / max(size - 1, 1)
    rgb = np.stack([80 + 100 * xx, 90 + 80 * yy, 120 - 60 * xx], axis=2)
    q = size // 4
    rgb[q : 2 * q, q : 2 * q] = (230, 40, 40)
    cv2.circle(rgb, (3 * q, 3 * q), max(2, size // 8), (40, 200, 60), -1)
    return np.clip(rgb, 0, 255).astype(np.uint8)


@dataclass
class ImageInput:
    """How an (S, S, 3) uint8 view becomes the model's input tensor."""

    size: int
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    rank: int = 4

    def array(self, image: np.ndarray) -> np.ndarray:
        if image.shape[:2] != (self.size, self.size):
            image = cv2.resize(image, (self.size, self.size), interpolation=cv2.INTER_AREA)
        x = image[:, :, :3].astype(np.float32) / 255.0
        if self.mean and self.std:
            x = (x - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        x = np.ascontiguousarray(x.transpose(2, 0, 1))
        return x if self.rank == 3 else x[None]


def image_input(
    runner: Runner, size: int, mean=None, std=None, what: str = "the model"
) -> ImageInput:
    """The input spec of a one-image model; ContractError if its (ONNX) input cannot take it."""
    if not 8 <= int(size) <= MAX_INPUT_SIZE:
        raise ContractError(f"input_size must be in 8..{MAX_INPUT_SIZE}, got {size}")
    spec = ImageInput(int(size), tuple(mean) if mean else None, tuple(std) if std else None)
    if runner.format != "onnx":
        return spec
    if len(runner.inputs) != 1:
        names = ", ".join(i.describe() for i in runner.inputs)
        raise ContractError(
            f"{what} must take one image input; it takes {len(runner.inputs)}: {names}"
        )
    info = runner.inputs[0]
    _check_image_input(info, spec, what)
    spec.rank = len(info.shape)
    return spec


def _check_image_input(info: TensorInfo, spec: ImageInput, what: str) -> None:
    if info.type not in ("tensor(float)", "tensor(float16)", "tensor(double)"):
        raise ContractError(
            f"{what}'s input {info.describe()} must be a float tensor (RGB 0–1, normalised)"
        )
    if len(info.shape) not in (3, 4):
        raise ContractError(f"{what}'s input {info.describe()} must be (1, 3, S, S) or (3, S, S)")
    channels = info.fixed(-3)
    if channels is not None and channels != 3:
        raise ContractError(f"{what}'s input {info.describe()} must have 3 (RGB) channels")
    if len(info.shape) == 4 and info.fixed(0) not in (None, 1):
        raise ContractError(f"{what}'s input {info.describe()} must take a batch of 1")
    fixed = (info.fixed(-2), info.fixed(-1))
    for dim in fixed:
        if dim is not None and dim != spec.size:
            raise ContractError(
                f"{what}'s input {info.describe()} is fixed at {fixed[0]}×{fixed[1]} px but "
                f"input_size is {spec.size}: set input_size to {dim}"
            )


def _run(runner: Runner, *arrays, what: str = "the model", names=None):
    try:
        return runner.run(*arrays, names=names)
    except OnnxModelError as exc:
        raise ContractError(f"{what} failed to run: {exc}") from exc
    except Exception as exc:  # torch raises RuntimeError with a long trace
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        first = lines[-1][:300] if lines else type(exc).__name__
        shapes = ", ".join(str(_shape(a)) for a in arrays)
        raise ContractError(f"{what} failed on input {shapes}: {first}") from exc


def _only_array(out, what: str) -> np.ndarray:
    if isinstance(out, dict):
        if len(out) != 1:
            raise ContractError(
                f"{what} returned {len(out)} outputs ({', '.join(out)}); expected 1"
            )
        out = next(iter(out.values()))
    if isinstance(out, list | tuple):
        if len(out) != 1:
            raise ContractError(f"{what} returned {len(out)} outputs; expected 1")
        out = out[0]
    if not isinstance(out, np.ndarray):
        raise ContractError(f"{what} returned {type(out).__name__}; expected one tensor")
    return out


# -- depth ----------------------------------------------------------------------------------
@dataclass
class DepthModel:
    """A monocular depth network: (S, S, 3) uint8 view → (h, w) float32 map of kind ``output``."""

    runner: Runner
    input: ImageInput
    output: str = "inverse"

    def __post_init__(self) -> None:
        if self.output not in DEPTH_OUTPUTS:
            raise ContractError(
                f"output must be one of {', '.join(DEPTH_OUTPUTS)}, got {self.output!r}"
            )

    def raw(self, image: np.ndarray) -> np.ndarray:
        out = _only_array(
            _run(self.runner, self.input.array(image), what="the depth model"), "the depth model"
        )
        shape = _shape(out)
        squeezed = out.reshape([d for d in shape if d != 1] or [1])
        if squeezed.ndim != 2 or min(squeezed.shape) < 2:
            raise ContractError(
                f"the depth model returned shape {shape}; expected one map (1, h, w), "
                "(1, 1, h, w) or (h, w)"
            )
        return squeezed.astype(np.float32)

    def check(self) -> dict:
        depth = self.raw(probe_image(self.input.size))
        if not np.isfinite(depth).all():
            raise ContractError("the depth model returned NaN or infinite values on a test image")
        if self.output != "inverse" and not (depth > 0).any():
            raise ContractError(
                f"the depth model returned no positive value on a test image (output "
                f"'{self.output}' is a depth up to scale: positive where valid)"
            )
        return {"output_shape": list(depth.shape)}


# -- instance segmentation ------------------------------------------------------------------
@dataclass
class InstanceModel:
    """An instance-segmentation network of either layout (see the module docstring)."""

    runner: Runner
    input: ImageInput
    class_names: list[str]
    layout: str | None = None  # "detections" or "yolo"; found on the first run
    min_score: float = 0.25
    nms_iou: float = 0.45
    max_detections: int = 300
    info: dict = field(default_factory=dict)

    def raw(self, image: np.ndarray) -> list[tuple[int, float, np.ndarray]]:
        """(label index, score, bool mask (S, S)) per object, before the score threshold."""
        out = _run(self.runner, self.input.array(image), what="the instance model")
        layout = self.layout or self._layout(out)
        self.layout = layout
        if layout == "yolo":
            return self._yolo(out)
        return self._detections(out)

    def _layout(self, out) -> str:
        if isinstance(out, dict) and not set(DETECTION_KEYS) <= set(out):
            arrays = list(out.values())
            if len(arrays) == 2 and arrays[0].ndim == 3 and arrays[1].ndim == 4:
                return "yolo"
            if len(arrays) != 4:
                shapes = ", ".join(f"{k} {_shape(v)}" for k, v in out.items())
                raise ContractError(
                    f"the instance model's outputs ({shapes}) match neither layout: "
                    f"{', '.join(DETECTION_KEYS)} (Mask R-CNN) or (1, 4+C+M, A) + (1, M, mh, mw) "
                    "(YOLO-seg)"
                )
        return "detections"

    def _detections(self, out) -> list[tuple[int, float, np.ndarray]]:
        if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], list):
            out = out[1]  # scripted torchvision: (losses, detections)
        if isinstance(out, list):
            if len(out) != 1:
                raise ContractError(f"the model returned a list of {len(out)} items, expected 1")
            out = out[0]
        if not isinstance(out, dict):
            raise ContractError(
                f"the model returned {type(out).__name__}; expected {', '.join(DETECTION_KEYS)}"
            )
        if set(DETECTION_KEYS) <= set(out):
            boxes, labels, scores, masks = (np.asarray(out[k]) for k in DETECTION_KEYS)
        elif len(out) == 4 and self.runner.format == "onnx":
            boxes, labels, scores, masks = (np.asarray(v) for v in out.values())
        else:
            missing = [k for k in DETECTION_KEYS if k not in out]
            raise ContractError(
                f"the model output lacks {', '.join(missing)} (needs {', '.join(DETECTION_KEYS)})"
            )
        n = labels.shape[0] if labels.ndim == 1 else -1
        if n < 0 or _shape(boxes) != (n, 4) or _shape(scores) != (n,):
            raise ContractError(
                f"inconsistent output shapes: boxes {_shape(boxes)}, labels {_shape(labels)}, "
                f"scores {_shape(scores)} (expected (N, 4), (N,), (N,))"
            )
        if not np.issubdtype(labels.dtype, np.integer):
            raise ContractError(f"labels must be integers, got {labels.dtype}")
        size = self.input.size
        if masks.ndim == 4 and masks.shape[1] == 1:
            masks = masks[:, 0]
        if masks.ndim != 3 or masks.shape[0] != n or tuple(masks.shape[1:]) != (size, size):
            raise ContractError(
                f"masks have shape {_shape(masks)}; expected ({n}, 1, {size}, {size}) or "
                f"({n}, {size}, {size})"
            )
        if n and (int(labels.min()) < 0 or int(labels.max()) >= len(self.class_names)):
            raise ContractError(
                f"labels must index the {len(self.class_names)} class_names of the weights, got "
                f"{int(labels.min())}..{int(labels.max())}"
            )
        binary = masks.astype(np.float32) > 0.5
        return [(int(labels[k]), float(scores[k]), binary[k]) for k in range(n)]

    def _yolo(self, out) -> list[tuple[int, float, np.ndarray]]:
        pred, proto = (np.asarray(v, np.float32) for v in list(out.values())[:2])
        nc = len(self.class_names)
        if proto.ndim != 4 or proto.shape[0] != 1 or pred.ndim != 3 or pred.shape[0] != 1:
            raise ContractError(
                f"YOLO-seg outputs must be (1, 4+C+M, A) and (1, M, mh, mw), got "
                f"{_shape(pred)} and {_shape(proto)}"
            )
        m = proto.shape[1]
        if pred.shape[1] != 4 + nc + m:
            if pred.shape[2] == 4 + nc + m:
                pred = pred.transpose(0, 2, 1)
            else:
                raise ContractError(
                    f"YOLO-seg candidates {_shape(pred)} do not fit {nc} class_names and {m} mask "
                    f"coefficients: expected (1, {4 + nc + m}, A) — is class_names complete?"
                )
        cand = pred[0].T  # (A, 4 + C + M)
        scores_all = cand[:, 4 : 4 + nc]
        labels = scores_all.argmax(axis=1)
        scores = scores_all[np.arange(len(cand)), labels]
        keep = np.nonzero(scores >= self.min_score)[0]
        if not len(keep):
            return []
        cx, cy, w, h = cand[keep, :4].T
        rects = np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)
        chosen = cv2.dnn.NMSBoxesBatched(
            rects.tolist(),
            scores[keep].tolist(),
            labels[keep].tolist(),
            self.min_score,
            self.nms_iou,
        )
        chosen = keep[np.asarray(chosen, int).reshape(-1)][: self.max_detections]
        size = self.input.size
        protos = proto[0].reshape(m, -1)
        result = []
        for k in chosen:
            coeff = cand[k, 4 + nc :]
            logits = (coeff @ protos).reshape(proto.shape[2], proto.shape[3])
            prob = cv2.resize(
                1.0 / (1.0 + np.exp(-logits)), (size, size), interpolation=cv2.INTER_LINEAR
            )
            x0, y0 = cand[k, 0] - cand[k, 2] / 2, cand[k, 1] - cand[k, 3] / 2
            x1, y1 = x0 + cand[k, 2], y0 + cand[k, 3]
            box = np.zeros((size, size), bool)
            box[
                max(0, int(y0)) : max(0, int(np.ceil(y1))),
                max(0, int(x0)) : max(0, int(np.ceil(x1))),
            ] = True
            result.append((int(labels[k]), float(scores[k]), (prob > 0.5) & box))
        return result

    def check(self) -> dict:
        if not self.class_names:
            raise ContractError("instance-segmentation weights need class_names")
        self.raw(probe_image(self.input.size))
        return {"layout": self.layout}


# -- semantic segmentation ------------------------------------------------------------------
@dataclass
class SemanticModel:
    """Logits (1, C, h, w) for an (S, S, 3) view; ``logits(x)`` takes a ready (N, 3, S, S) batch."""

    runner: Runner
    input: ImageInput
    class_names: list[str]

    def logits(self, batch: np.ndarray) -> np.ndarray:
        if self.input.mean and self.input.std:
            mean = np.asarray(self.input.mean, np.float32).reshape(1, 3, 1, 1)
            std = np.asarray(self.input.std, np.float32).reshape(1, 3, 1, 1)
            batch = (batch - mean) / std
        outs = []
        for x in batch:  # ONNX exports often fix the batch at 1
            x = x if self.input.rank == 3 else x[None]
            out = _only_array(
                _run(self.runner, x, what="the segmentation model"), "the segmentation model"
            )
            outs.append(out.reshape(out.shape[-3:]))
        out = np.stack(outs)
        c = len(self.class_names)
        if out.shape[1] != c:
            raise ContractError(
                f"the segmentation model returned {out.shape[1]} channels; expected logits "
                f"(1, {c}, h, w) for its {c} class_names"
            )
        size = batch.shape[-1]
        if out.shape[2:] != (size, size):
            out = np.stack(
                [
                    np.stack(
                        [cv2.resize(ch, (size, size), interpolation=cv2.INTER_LINEAR) for ch in o]
                    )
                    for o in out
                ]
            )
        return out.astype(np.float32)

    def check(self) -> dict:
        if len(self.class_names) < 2:
            raise ContractError("segmentation weights need class_names (background first)")
        x = self.input.array(probe_image(self.input.size))
        out = self.logits(x[None] if x.ndim == 3 else x)
        return {"output_shape": list(out.shape)}


# -- interactive segmentation (SAM-style) ---------------------------------------------------
@dataclass
class PromptModel:
    """A SAM-style encoder (run once per image) and prompt decoder (run per click)."""

    encoder: Runner
    decoder: Runner
    input: ImageInput

    def resize_scale(self, height: int, width: int) -> float:
        return self.input.size / max(height, width)

    def embed(self, image: np.ndarray) -> np.ndarray:
        """The image embedding (1, E, h, w) float32 of a uint8 (H, W, 3) image."""
        h, w = image.shape[:2]
        s = self.resize_scale(h, w)
        nh, nw = max(1, int(round(h * s))), max(1, int(round(w * s)))
        resized = cv2.resize(image[:, :, :3], (nw, nh), interpolation=cv2.INTER_AREA)
        x = resized.astype(np.float32) / 255.0
        if self.input.mean and self.input.std:
            x = (x - np.asarray(self.input.mean, np.float32)) / np.asarray(
                self.input.std, np.float32
            )
        # SAM pads the normalised image with zeros to S × S (bottom and right)
        canvas = np.zeros((3, self.input.size, self.input.size), np.float32)
        canvas[:, :nh, :nw] = x.transpose(2, 0, 1)
        x = canvas if self.input.rank == 3 else canvas[None]
        out = _only_array(_run(self.encoder, x, what="the image encoder"), "the image encoder")
        if out.ndim != 4 or out.shape[0] != 1:
            raise ContractError(
                f"the image encoder returned {_shape(out)}; expected an embedding (1, E, h, w)"
            )
        return out.astype(np.float32)

    def decode(
        self,
        embedding: np.ndarray,
        size: tuple[int, int],
        box: tuple[float, float, float, float] | None,
        positive=(),
        negative=(),
    ) -> tuple[np.ndarray, float]:
        """(mask logits (H, W), predicted IoU) for a box and clicks in image pixels."""
        h, w = size
        s = self.resize_scale(h, w)
        coords, labels = [], []
        for x, y in positive:
            coords.append((x, y))
            labels.append(1.0)
        for x, y in negative:
            coords.append((x, y))
            labels.append(0.0)
        if box is not None:
            coords += [(box[0], box[1]), (box[2], box[3])]
            labels += [2.0, 3.0]
        else:
            coords.append((0.0, 0.0))
            labels.append(-1.0)
        point_coords = (np.asarray(coords, np.float32) * s)[None]
        point_labels = np.asarray(labels, np.float32)[None]
        eh, ew = embedding.shape[2:]
        feeds = [
            embedding,
            point_coords,
            point_labels,
            np.zeros((1, 1, 4 * eh, 4 * ew), np.float32),
            np.zeros((1,), np.float32),
            np.asarray([h, w], np.float32),
        ]
        out = _run(self.decoder, *feeds, what="the prompt decoder", names=list(SAM_DECODER_INPUTS))
        masks, ious = self._outputs(out)
        if masks.shape[-2:] != (h, w):
            raise ContractError(
                f"the prompt decoder returned masks {_shape(masks)}; expected (1, K, {h}, {w}) "
                "(orig_im_size)"
            )
        best = int(np.argmax(ious.reshape(-1))) if ious.size else 0
        return masks.reshape(-1, h, w)[best].astype(np.float32), float(ious.reshape(-1)[best])

    @staticmethod
    def _outputs(out) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(out, dict):
            raise ContractError("the prompt decoder must be an ONNX model")
        masks = out.get("masks")
        ious = out.get("iou_predictions")
        arrays = list(out.values())
        if masks is None and arrays:
            masks = arrays[0]
        if ious is None and len(arrays) > 1:
            ious = arrays[1]
        if masks is None or ious is None or masks.ndim != 4 or ious.ndim != 2:
            shapes = ", ".join(f"{k} {_shape(v)}" for k, v in out.items())
            raise ContractError(
                f"the prompt decoder returned {shapes}; expected masks (1, K, H, W) and "
                "iou_predictions (1, K)"
            )
        return masks, ious

    def check(self) -> dict:
        if self.decoder.format != "onnx":
            raise ContractError("the prompt decoder must be an ONNX file")
        names = {i.name for i in self.decoder.inputs}
        missing = [n for n in SAM_DECODER_INPUTS if n not in names]
        if missing:
            raise ContractError(
                f"the prompt decoder lacks input(s) {', '.join(missing)}; it takes "
                f"{', '.join(i.describe() for i in self.decoder.inputs)} (expected the official "
                f"SAM ONNX export's inputs: {', '.join(SAM_DECODER_INPUTS)})"
            )
        image = probe_image(self.input.size)[: self.input.size * 3 // 4]
        embedding = self.embed(image)
        h, w = image.shape[:2]
        q = self.input.size // 4
        logits, _ = self.decode(embedding, (h, w), (q, q, 2 * q, 2 * q))
        if not np.isfinite(logits).all():
            raise ContractError("the prompt decoder returned NaN or infinite mask logits")
        return {"embedding_shape": list(embedding.shape)}


# -- HDR reconstruction of clipped regions --------------------------------------------------
#: output values down to this are rounding noise of a non-negative model, not negative light
HDR_NEGATIVE_TOLERANCE = 1e-6


def probe_radiance(width: int) -> tuple[np.ndarray, np.ndarray]:
    """A deterministic linear test panorama ``width`` × ``width / 2``: a bluish sky brightening
    towards a sun disc above a darker ground, clipped at 1 like a camera.

    Returns (radiance (H, W, 3) float32 in [0, 1], mask (H, W) float32: 1 where any channel
    clipped)."""
    h = width // 2
    lat = (0.5 - (np.arange(h) + 0.5) / h) * np.pi
    lon = ((np.arange(width) + 0.5) / width - 0.5) * 2.0 * np.pi
    lon, lat = np.meshgrid(lon, lat)
    sun_lon, sun_lat = 0.6, 0.5
    cos_g = np.sin(lat) * np.sin(sun_lat) + np.cos(lat) * np.cos(sun_lat) * np.cos(lon - sun_lon)
    gamma = np.arccos(np.clip(cos_g, -1.0, 1.0))
    sky = 0.2 + 0.15 * np.cos(lat) + 4.0 * np.exp(-gamma / 0.2)
    colour = np.array([0.85, 0.95, 1.15], np.float32)
    ground = 0.08 + 0.04 * np.cos(3.0 * lon)
    level = np.where(lat > 0, sky, ground)[:, :, None] * colour
    clipped = (level >= 1.0).any(axis=2)
    return np.minimum(level, 1.0).astype(np.float32), clipped.astype(np.float32)


@dataclass
class HdrModel:
    """Clipped-region reconstruction: ``(radiance, mask)`` at ``width`` × ``width / 2`` →
    linear radiance (see the module docstring, task ``hdr``)."""

    runner: Runner
    width: int

    @property
    def height(self) -> int:
        return self.width // 2

    def reconstruct(self, radiance: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The model's radiance (H, W, 3) float32 ≥ 0 for linear ``radiance`` (H, W, 3) and
        the clip ``mask`` (H, W) in [0, 1]; ContractError when the output breaks the contract."""
        h, w = self.height, self.width
        if radiance.shape != (h, w, 3) or mask.shape != (h, w):
            raise ValueError(f"the HDR model takes {w}×{h} inputs, got {radiance.shape[1::-1]}")
        x = np.ascontiguousarray(radiance.transpose(2, 0, 1)[None], dtype=np.float32)
        m = np.ascontiguousarray(mask[None, None], dtype=np.float32)
        out = _only_array(_run(self.runner, x, m, what="the HDR model"), "the HDR model")
        shape = _shape(out)
        expected = f"(1, 3, {h}, {w}), like its radiance input"
        if len(shape) != 4 or shape[0] != 1:
            raise ContractError(f"the HDR model returned shape {shape}; expected {expected}")
        if shape[1] != 3:
            raise ContractError(
                f"the HDR model returned {shape[1]} channel(s) (shape {shape}); expected 3 "
                f"(linear RGB): {expected}"
            )
        if shape[2:] != (h, w):
            raise ContractError(
                f"the HDR model returned {shape[3]}×{shape[2]} px (shape {shape}) for a "
                f"{w}×{h} input; expected {expected}"
            )
        y = np.asarray(out[0], dtype=np.float32).transpose(1, 2, 0)
        finite = np.isfinite(y)
        if not finite.all():
            raise ContractError(
                f"the HDR model returned NaN or infinite values ({int((~finite).sum())} of "
                f"{y.size}); expected finite linear radiance"
            )
        low = float(y.min())
        if low < -HDR_NEGATIVE_TOLERANCE:
            raise ContractError(
                f"the HDR model returned negative radiance (min {low:.4g}, "
                f"{int((y < -HDR_NEGATIVE_TOLERANCE).sum())} values); expected linear radiance ≥ 0"
            )
        return np.ascontiguousarray(np.maximum(y, 0.0))

    def describe(self) -> dict:
        if self.runner.format == "onnx":
            return self.runner.describe()
        h, w = self.height, self.width
        return {
            "inputs": [f"radiance (1, 3, {h}, {w}) float", f"mask (1, 1, {h}, {w}) float"],
            "outputs": [f"radiance (1, 3, {h}, {w}) float"],
        }

    def check(self) -> dict:
        radiance, mask = probe_radiance(self.width)
        self.reconstruct(radiance, mask)
        return {"output_shape": [1, 3, self.height, self.width]}


def hdr_model(runner: Runner, width: int) -> HdrModel:
    """The ``hdr`` adapter; ContractError when its size or (ONNX) inputs cannot fit."""
    if not 8 <= int(width) <= MAX_INPUT_SIZE or int(width) % 2:
        raise ContractError(
            f"input_size is the width of the equirectangular input (height input_size / 2): "
            f"an even number in 8..{MAX_INPUT_SIZE}, got {width}"
        )
    if runner.format == "onnx":
        if len(runner.inputs) != 2:
            names = ", ".join(i.describe() for i in runner.inputs)
            raise ContractError(
                f"the HDR model must take two inputs, radiance (1, 3, H, W) and mask "
                f"(1, 1, H, W); it takes {len(runner.inputs)}: {names}"
            )
        h, w = int(width) // 2, int(width)
        for info, channels in zip(runner.inputs, (3, 1), strict=True):
            if info.type not in ("tensor(float)", "tensor(float16)", "tensor(double)"):
                raise ContractError(f"the HDR model's input {info.describe()} must be float")
            wanted = (1, channels, h, w)
            if len(info.shape) != 4 or any(
                info.fixed(k) not in (None, wanted[k]) for k in range(4)
            ):
                raise ContractError(
                    f"the HDR model's input {info.describe()} cannot take {wanted} "
                    f"(input_size {w} is the width; height {h})"
                )
    return HdrModel(runner, int(width))


# -- entry points ---------------------------------------------------------------------------
def _runner(data: bytes, what: str, threads: int | None) -> Runner:
    try:
        return load_runner(data, threads=threads)
    except ModelFileError as exc:
        raise ContractError(f"{what}: {exc}") from exc


def build_model(
    task: str,
    data: bytes,
    *,
    input_size: int,
    mean=None,
    std=None,
    class_names=(),
    output: str = "inverse",
    decoder: bytes | None = None,
    threads: int | None = None,
):
    """The task adapter for a weights file (not yet checked; see :func:`check_model`)."""
    runner = _runner(data, "the weights file", threads)
    if task == "depth":
        return DepthModel(
            runner, image_input(runner, input_size, mean, std, "the depth model"), output
        )
    if task == "instance_segmentation":
        return InstanceModel(
            runner,
            image_input(runner, input_size, mean, std, "the instance model"),
            list(class_names),
        )
    if task == "semantic_segmentation":
        return SemanticModel(
            runner,
            image_input(runner, input_size, mean, std, "the segmentation model"),
            list(class_names),
        )
    if task == "interactive_segmentation":
        if not decoder:
            raise ContractError(
                "interactive segmentation needs two files: the image encoder (file) and the "
                "prompt decoder (decoder)"
            )
        dec = _runner(decoder, "the decoder file", threads)
        spec = image_input(runner, input_size, mean, std, "the image encoder")
        return PromptModel(runner, dec, spec)
    if task == "hdr":
        return hdr_model(runner, input_size)
    return runner


def check_model(task: str, data: bytes, **kwargs) -> dict:
    """Load and run the model once on a small test input; the contract found (format, layout,
    inputs/outputs) or ContractError saying precisely what does not fit."""
    model = build_model(task, data, **kwargs)
    if isinstance(model, Runner):
        return {"format": model.format, **model.describe()}
    found = model.check()
    runner = model.encoder if isinstance(model, PromptModel) else model.runner
    described = model.describe() if isinstance(model, HdrModel) else runner.describe()
    return {"format": runner.format, **found, **described}


__all__ = [
    "ContractError",
    "DEPTH_OUTPUTS",
    "DepthModel",
    "HdrModel",
    "ImageInput",
    "InstanceModel",
    "PromptModel",
    "SemanticModel",
    "build_model",
    "check_model",
    "hdr_model",
    "probe_image",
    "probe_radiance",
]
