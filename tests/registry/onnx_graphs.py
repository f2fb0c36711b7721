"""Real-shaped ONNX models built here (no weights can be downloaded).

Each builder returns the serialized model. They compute something real from the image, so a
test can check what comes out, and their inputs/outputs have the names and shapes of the
exports people upload:

* :func:`maskrcnn_like` — torchvision Mask R-CNN's ONNX signature (``image`` (3, S, S) →
  ``boxes, labels, scores, masks``), with real ``RoiAlign`` and ``NonMaxSuppression`` nodes:
  fixed proposals are scored by RoiAlign over a "red" map, NMS picks the best, the mask is
  the red map inside each box.
* :func:`yolo_seg_like` — Ultralytics YOLO-seg's signature (``images`` (1, 3, S, S) →
  ``(1, 4 + C + 1, A)`` candidates and ``(1, 1, S/4, S/4)`` prototypes).
* :func:`depth_like` — a MiDaS-like depth net that decodes depth from the grey level
  (``distance = k / grey``), optionally divided/multiplied by the pinhole cosine grid.
* :func:`sam_encoder_like` / :func:`sam_decoder_like` — the SAM ONNX pair: an encoder to a
  (1, 3, S/4, S/4) embedding (4 × 4 average of the normalised image) and a decoder with the
  official export's six inputs, segmenting the colour at the box centre inside the box.
* :func:`semantic_like` — logits (1, 2, S, S): class 1 where the image is red.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _model(nodes, inputs, outputs, initializers, opset: int = OPSET) -> bytes:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _const(name: str, value) -> TensorProto:
    return numpy_helper.from_array(np.asarray(value), name)


def _red_map_nodes(image: str, out: str) -> list:
    """``out`` (1, S, S) = 1 where R − max(G, B) > 0.4 (image (3, S, S), 0–1)."""
    return [
        helper.make_node("Split", [image, "split3"], ["r", "g", "b"], axis=0),
        helper.make_node("Max", ["g", "b"], ["gb"]),
        helper.make_node("Sub", ["r", "gb"], ["redness"]),
        helper.make_node("Greater", ["redness", "thr04"], ["is_red"]),
        helper.make_node("Cast", ["is_red"], [out], to=TensorProto.FLOAT),
    ]


def maskrcnn_like(size: int = 64, batch: bool = False) -> bytes:
    """torchvision Mask R-CNN ONNX signature; label 1 = 'red thing' (0 is the background)."""
    rois = []
    step = max(1, size // 16)
    for side in (size // 8, size // 4, size // 2):
        for w, h in ((side, side), (2 * side, side), (side, 2 * side)):
            for y in range(0, size - h + 1, step):
                for x in range(0, size - w + 1, step):
                    rois.append((x, y, x + w, y + h))
    rois = np.asarray(rois, np.float32)
    r = len(rois)
    area = ((rois[:, 2] - rois[:, 0]) * (rois[:, 3] - rois[:, 1])).astype(np.float32)
    xs = (np.arange(size, dtype=np.float32) + 0.5).reshape(1, 1, 1, size)
    ys = (np.arange(size, dtype=np.float32) + 0.5).reshape(1, 1, size, 1)
    inits = [
        _const("split3", np.array([1, 1, 1], np.int64)),
        _const("thr04", np.float32(0.4)),
        _const("rois", rois),
        _const("roi_batch", np.zeros(r, np.int64)),
        _const("roi_area", area),
        _const("max_out", np.array([5], np.int64)),
        _const("iou_thr", np.array([0.3], np.float32)),
        _const("score_thr", np.array([0.5], np.float32)),
        _const("labels_all", np.ones(r, np.int64)),
        _const("xs", xs),
        _const("ys", ys),
        _const("two", np.int64(2)),
        _const("col_split", np.array([1, 1, 1, 1], np.int64)),
        _const("k1111", np.array([-1, 1, 1, 1], np.int64)),
        _const("eps", np.float32(1e-6)),
        _const("axes0", np.array([0], np.int64)),
        _const("shape_1r4", np.array([1, r, 4], np.int64)),
        _const("shape_11r", np.array([1, 1, r], np.int64)),
    ]
    image = "image"
    nodes = []
    if batch:
        nodes.append(helper.make_node("Squeeze", ["images", "axes0"], ["image"]))
    nodes += _red_map_nodes(image, "red")  # (1, S, S)
    nodes += [
        helper.make_node("Unsqueeze", ["red", "axes0"], ["red4"]),  # (1, 1, S, S)
        helper.make_node(
            "RoiAlign",
            ["red4", "rois", "roi_batch"],
            ["pooled"],
            output_height=7,
            output_width=7,
            sampling_ratio=2,
            mode="avg",
        ),  # fmt: skip
        helper.make_node("ReduceMean", ["pooled"], ["fill"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("ReduceSum", ["red"], ["total"], keepdims=0),
        helper.make_node("Add", ["total", "eps"], ["total_e"]),
        helper.make_node("Mul", ["fill", "fill"], ["fill2"]),
        helper.make_node("Mul", ["fill2", "roi_area"], ["fill2a"]),
        helper.make_node("Div", ["fill2a", "total_e"], ["roi_score"]),  # (R,) IoU-like
        helper.make_node("Reshape", ["rois", "shape_1r4"], ["nms_boxes"]),
        helper.make_node("Reshape", ["roi_score", "shape_11r"], ["nms_scores"]),
        helper.make_node(
            "NonMaxSuppression",
            ["nms_boxes", "nms_scores", "max_out", "iou_thr", "score_thr"],
            ["selected"],
        ),  # (K, 3): batch, class, box index
        helper.make_node("Gather", ["selected", "two"], ["keep_1d"], axis=1),  # (K,)
        helper.make_node("Gather", ["rois", "keep_1d"], ["boxes"], axis=0),
        helper.make_node("Gather", ["roi_score", "keep_1d"], ["scores"], axis=0),
        helper.make_node("Gather", ["labels_all", "keep_1d"], ["labels"], axis=0),
        helper.make_node("Split", ["boxes", "col_split"], ["x0", "y0", "x1", "y1"], axis=1),
    ]
    for name in ("x0", "y0", "x1", "y1"):
        nodes.append(helper.make_node("Reshape", [name, "k1111"], [f"{name}_4"]))
    nodes += [
        helper.make_node("GreaterOrEqual", ["xs", "x0_4"], ["in_x0"]),
        helper.make_node("LessOrEqual", ["xs", "x1_4"], ["in_x1"]),
        helper.make_node("GreaterOrEqual", ["ys", "y0_4"], ["in_y0"]),
        helper.make_node("LessOrEqual", ["ys", "y1_4"], ["in_y1"]),
        helper.make_node("And", ["in_x0", "in_x1"], ["in_x"]),
        helper.make_node("And", ["in_y0", "in_y1"], ["in_y"]),
        helper.make_node("And", ["in_x", "in_y"], ["in_box"]),  # (K, 1, S, S)
        helper.make_node("Cast", ["in_box"], ["in_box_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["in_box_f", "red4"], ["masks"]),
    ]
    shape = [1, 3, size, size] if batch else [3, size, size]
    inputs = [
        helper.make_tensor_value_info("images" if batch else "image", TensorProto.FLOAT, shape)
    ]
    outputs = [
        helper.make_tensor_value_info("boxes", TensorProto.FLOAT, ["N", 4]),
        helper.make_tensor_value_info("labels", TensorProto.INT64, ["N"]),
        helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N"]),
        helper.make_tensor_value_info("masks", TensorProto.FLOAT, ["N", 1, size, size]),
    ]
    return _model(nodes, inputs, outputs, inits)


def yolo_seg_like(size: int = 64, classes: int = 3) -> bytes:
    """YOLO-seg signature: one real candidate (the red region's box, class 1) + 3 empty ones."""
    xs = (np.arange(size, dtype=np.float32) + 0.5).reshape(1, 1, size)
    ys = (np.arange(size, dtype=np.float32) + 0.5).reshape(1, size, 1)
    onehot = np.zeros((1, classes, 1), np.float32)
    onehot[0, 1, 0] = 1.0
    inits = [
        _const("split3", np.array([1, 1, 1], np.int64)),
        _const("thr04", np.float32(0.4)),
        _const("axes0", np.array([0], np.int64)),
        _const("xs", xs),
        _const("ys", ys),
        _const("eps", np.float32(1e-6)),
        _const("onehot", onehot),
        _const("one", np.float32(1.0)),
        _const("shape_111", np.array([1, 1, 1], np.int64)),
        _const("empty", np.zeros((1, 4 + classes + 1, 3), np.float32)),
        _const("pool_k", np.float32(20.0)),
        _const("half", np.float32(0.5)),
        _const("twelve", np.float32(12.0)),
        _const("two_px", np.float32(2.0)),
    ]
    nodes = [
        helper.make_node("Squeeze", ["images", "axes0"], ["image"]),
        *_red_map_nodes("image", "red"),  # (1, S, S)
        helper.make_node("ReduceSum", ["red"], ["count"], keepdims=0),
        helper.make_node("Add", ["count", "eps"], ["count_e"]),
        helper.make_node("Mul", ["red", "xs"], ["rx"]),
        helper.make_node("Mul", ["red", "ys"], ["ry"]),
        helper.make_node("ReduceSum", ["rx"], ["sx"], keepdims=0),
        helper.make_node("ReduceSum", ["ry"], ["sy"], keepdims=0),
        helper.make_node("Div", ["sx", "count_e"], ["cx"]),
        helper.make_node("Div", ["sy", "count_e"], ["cy"]),
        # width and height of a uniform patch: sqrt(12 variance), plus a pixel of margin
        helper.make_node("Mul", ["rx", "xs"], ["rxx"]),
        helper.make_node("Mul", ["ry", "ys"], ["ryy"]),
        helper.make_node("ReduceSum", ["rxx"], ["sxx"], keepdims=0),
        helper.make_node("ReduceSum", ["ryy"], ["syy"], keepdims=0),
        helper.make_node("Div", ["sxx", "count_e"], ["mxx"]),
        helper.make_node("Div", ["syy", "count_e"], ["myy"]),
        helper.make_node("Mul", ["cx", "cx"], ["cx2"]),
        helper.make_node("Mul", ["cy", "cy"], ["cy2"]),
        helper.make_node("Sub", ["mxx", "cx2"], ["vx"]),
        helper.make_node("Sub", ["myy", "cy2"], ["vy"]),
        helper.make_node("Mul", ["vx", "twelve"], ["vx12"]),
        helper.make_node("Mul", ["vy", "twelve"], ["vy12"]),
        helper.make_node("Relu", ["vx12"], ["vx12p"]),
        helper.make_node("Relu", ["vy12"], ["vy12p"]),
        helper.make_node("Sqrt", ["vx12p"], ["wx"]),
        helper.make_node("Sqrt", ["vy12p"], ["wy"]),
        helper.make_node("Add", ["wx", "two_px"], ["side_w"]),
        helper.make_node("Add", ["wy", "two_px"], ["side_h"]),
        helper.make_node("Min", ["count", "one"], ["present"]),  # 1 if any red pixel
        helper.make_node("Mul", ["onehot", "present"], ["cls"]),  # (1, C, 1)
        helper.make_node("Reshape", ["cx", "shape_111"], ["cx3"]),
        helper.make_node("Reshape", ["cy", "shape_111"], ["cy3"]),
        helper.make_node("Reshape", ["side_w", "shape_111"], ["w3"]),
        helper.make_node("Reshape", ["side_h", "shape_111"], ["h3"]),
        helper.make_node("Reshape", ["present", "shape_111"], ["coef3"]),
        helper.make_node("Concat", ["cx3", "cy3", "w3", "h3", "cls", "coef3"], ["cand"], axis=1),
        helper.make_node("Concat", ["cand", "empty"], ["output0"], axis=2),  # (1, 4+C+1, 4)
        # prototypes at 1/4 resolution: logit 20 * (red - 0.5)
        helper.make_node("Unsqueeze", ["red", "axes0"], ["red4"]),
        helper.make_node(
            "AveragePool", ["red4"], ["red_small"], kernel_shape=[4, 4], strides=[4, 4]
        ),
        helper.make_node("Sub", ["red_small", "half"], ["centred"]),
        helper.make_node("Mul", ["centred", "pool_k"], ["output1"]),
    ]
    inputs = [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])]
    outputs = [
        helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 4 + classes + 1, 4]),
        helper.make_tensor_value_info("output1", TensorProto.FLOAT, [1, 1, size // 4, size // 4]),
    ]
    return _model(nodes, inputs, outputs, inits)


def cosine_grid(size: int, hfov: float) -> np.ndarray:
    """cos(angle to the optical axis) of each pixel centre of a square pinhole view."""
    focal = (size / 2) / math.tan(math.radians(hfov) / 2)
    c = (np.arange(size) + 0.5 - size / 2) / focal
    return (1.0 / np.sqrt(1.0 + c[None, :] ** 2 + c[:, None] ** 2)).astype(np.float32)


def depth_like(size: int, kind: str = "distance", k: float = 400.0, hfov: float = 100.0) -> bytes:
    """(1, 3, S, S) 0–1 → (1, S, S): distance = k / (255 · grey) along each ray, output as
    ``distance``, ``z`` (= distance · cos) or ``inverse`` (= 1 / z)."""
    cos = cosine_grid(size, hfov)[None]
    inits = [
        _const("k255", np.float32(255.0 / k)),
        _const("cos", cos),
        _const("eps", np.float32(1e-4)),
        _const("one", np.float32(1.0)),
    ]
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["grey"], axes=[1], keepdims=0),  # (1, S, S)
        helper.make_node("Max", ["grey", "eps"], ["grey_e"]),
        helper.make_node("Mul", ["grey_e", "k255"], ["inv_distance"]),
    ]
    if kind == "distance":
        nodes.append(helper.make_node("Div", ["one", "inv_distance"], ["depth"]))
    elif kind == "z":
        nodes += [
            helper.make_node("Div", ["one", "inv_distance"], ["distance"]),
            helper.make_node("Mul", ["distance", "cos"], ["depth"]),
        ]
    elif kind == "inverse":
        nodes.append(helper.make_node("Div", ["inv_distance", "cos"], ["depth"]))
    else:
        raise ValueError(kind)
    inputs = [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])]
    outputs = [helper.make_tensor_value_info("depth", TensorProto.FLOAT, [1, size, size])]
    return _model(nodes, inputs, outputs, inits)


def sam_encoder_like(size: int = 64) -> bytes:
    """(1, 3, S, S) normalised image → (1, 3, S/4, S/4) embedding (4 × 4 average)."""
    nodes = [
        helper.make_node(
            "AveragePool", ["x"], ["image_embeddings"], kernel_shape=[4, 4], strides=[4, 4]
        )
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, size, size])]
    outputs = [
        helper.make_tensor_value_info(
            "image_embeddings", TensorProto.FLOAT, [1, 3, size // 4, size // 4]
        )
    ]
    return _model(nodes, inputs, outputs, [])


def sam_decoder_like(size: int = 64, threshold: float = 0.6) -> bytes:
    """The official SAM decoder's inputs/outputs. Mask logits: 10 · (threshold − colour
    distance to the box centre's embedding) inside the box (labels 2/3), −20 outside;
    upsampled to S, cropped to the resized image, resized to ``orig_im_size``."""
    e = size // 4
    ex = (np.arange(e, dtype=np.float32) + 0.5).reshape(1, 1, 1, e) * 4.0
    ey = (np.arange(e, dtype=np.float32) + 0.5).reshape(1, 1, e, 1) * 4.0
    inits = [
        _const("ex", ex),
        _const("ey", ey),
        _const("two", np.float32(2.0)),
        _const("three", np.float32(3.0)),
        _const("idx0", np.int64(0)),
        _const("idx1", np.int64(1)),
        _const("axes23", np.array([2, 3], np.int64)),
        _const("quarter", np.float32(0.25)),
        _const("ten", np.float32(10.0)),
        _const("thr", np.float32(threshold)),
        _const("neg", np.float32(-20.0)),
        _const("eps", np.float32(1e-6)),
        _const("scales4", np.array([1.0, 1.0, 4.0, 4.0], np.float32)),
        _const("S", np.float32(size)),
        _const("ones2", np.array([1, 1], np.int64)),
        _const("zeros2", np.array([0, 0], np.int64)),
        _const("iou", np.array([[0.9]], np.float32)),
    ]
    nodes = []

    def coord(label: str, axis: str, out: str) -> None:
        nodes.extend(
            [
                helper.make_node("Equal", ["point_labels", label], [f"{out}_is"]),
                helper.make_node("Cast", [f"{out}_is"], [f"{out}_w"], to=TensorProto.FLOAT),
                helper.make_node("Gather", ["point_coords", axis], [f"{out}_c"], axis=2),
                helper.make_node("Mul", [f"{out}_c", f"{out}_w"], [f"{out}_m"]),
                helper.make_node("ReduceSum", [f"{out}_m"], [out], keepdims=0),
            ]
        )

    coord("two", "idx0", "bx0")
    coord("two", "idx1", "by0")
    coord("three", "idx0", "bx1")
    coord("three", "idx1", "by1")
    nodes += [
        # box and its central half on the embedding grid
        helper.make_node("GreaterOrEqual", ["ex", "bx0"], ["gx0"]),
        helper.make_node("LessOrEqual", ["ex", "bx1"], ["gx1"]),
        helper.make_node("GreaterOrEqual", ["ey", "by0"], ["gy0"]),
        helper.make_node("LessOrEqual", ["ey", "by1"], ["gy1"]),
        helper.make_node("And", ["gx0", "gx1"], ["gx"]),
        helper.make_node("And", ["gy0", "gy1"], ["gy"]),
        helper.make_node("And", ["gx", "gy"], ["in_box"]),  # (1, 1, e, e)
        helper.make_node("Sub", ["bx1", "bx0"], ["bw"]),
        helper.make_node("Sub", ["by1", "by0"], ["bh"]),
        helper.make_node("Mul", ["bw", "quarter"], ["qw"]),
        helper.make_node("Mul", ["bh", "quarter"], ["qh"]),
        helper.make_node("Add", ["bx0", "qw"], ["cx0"]),
        helper.make_node("Sub", ["bx1", "qw"], ["cx1"]),
        helper.make_node("Add", ["by0", "qh"], ["cy0"]),
        helper.make_node("Sub", ["by1", "qh"], ["cy1"]),
        helper.make_node("GreaterOrEqual", ["ex", "cx0"], ["hx0"]),
        helper.make_node("LessOrEqual", ["ex", "cx1"], ["hx1"]),
        helper.make_node("GreaterOrEqual", ["ey", "cy0"], ["hy0"]),
        helper.make_node("LessOrEqual", ["ey", "cy1"], ["hy1"]),
        helper.make_node("And", ["hx0", "hx1"], ["hx"]),
        helper.make_node("And", ["hy0", "hy1"], ["hy"]),
        helper.make_node("And", ["hx", "hy"], ["in_centre"]),
        helper.make_node("Cast", ["in_centre"], ["centre_w"], to=TensorProto.FLOAT),
        # the centre's mean embedding and each cell's distance to it
        helper.make_node("Mul", ["image_embeddings", "centre_w"], ["emb_c"]),
        helper.make_node("ReduceSum", ["emb_c", "axes23"], ["emb_sum"], keepdims=1),
        helper.make_node("ReduceSum", ["centre_w", "axes23"], ["centre_n"], keepdims=1),
        helper.make_node("Add", ["centre_n", "eps"], ["centre_ne"]),
        helper.make_node("Div", ["emb_sum", "centre_ne"], ["fg"]),
        helper.make_node("Sub", ["image_embeddings", "fg"], ["diff"]),
        helper.make_node("ReduceL2", ["diff"], ["dist"], axes=[1], keepdims=1),
        helper.make_node("Sub", ["thr", "dist"], ["margin"]),
        helper.make_node("Mul", ["margin", "ten"], ["inside_logit"]),
        helper.make_node("Where", ["in_box", "inside_logit", "neg"], ["low_res_masks"]),
        # to the S × S input frame, crop the resized image, resize to orig_im_size
        helper.make_node("Resize", ["low_res_masks", "", "scales4"], ["up"], mode="linear"),
        helper.make_node("ReduceMax", ["orig_im_size"], ["longest"], keepdims=0),
        helper.make_node("Div", ["S", "longest"], ["scale"]),
        helper.make_node("Mul", ["orig_im_size", "scale"], ["valid_f"]),
        helper.make_node("Round", ["valid_f"], ["valid_r"]),
        helper.make_node("Cast", ["valid_r"], ["valid"], to=TensorProto.INT64),
        helper.make_node("Slice", ["up", "zeros2", "valid", "axes23"], ["cropped"]),
        helper.make_node("Cast", ["orig_im_size"], ["orig_i"], to=TensorProto.INT64),
        helper.make_node("Concat", ["ones2", "orig_i"], ["out_size"], axis=0),
        helper.make_node("Resize", ["cropped", "", "", "out_size"], ["masks"], mode="linear"),
        helper.make_node("Identity", ["iou"], ["iou_predictions"]),
    ]
    inputs = [
        helper.make_tensor_value_info("image_embeddings", TensorProto.FLOAT, [1, 3, e, e]),
        helper.make_tensor_value_info("point_coords", TensorProto.FLOAT, [1, "P", 2]),
        helper.make_tensor_value_info("point_labels", TensorProto.FLOAT, [1, "P"]),
        helper.make_tensor_value_info("mask_input", TensorProto.FLOAT, [1, 1, 4 * e, 4 * e]),
        helper.make_tensor_value_info("has_mask_input", TensorProto.FLOAT, [1]),
        helper.make_tensor_value_info("orig_im_size", TensorProto.FLOAT, [2]),
    ]
    outputs = [
        helper.make_tensor_value_info("masks", TensorProto.FLOAT, [1, 1, "H", "W"]),
        helper.make_tensor_value_info("iou_predictions", TensorProto.FLOAT, [1, 1]),
        helper.make_tensor_value_info("low_res_masks", TensorProto.FLOAT, [1, 1, e, e]),
    ]
    return _model(nodes, inputs, outputs, inits)


def semantic_like(size: int | None = None) -> bytes:
    """(1, 3, S, S) → logits (1, 2, S, S): class 1 ('red') where R − max(G, B) > 0.4."""
    inits = [
        _const("split3", np.array([1, 1, 1], np.int64)),
        _const("thr04", np.float32(0.4)),
        _const("axes0", np.array([0], np.int64)),
        _const("ten", np.float32(10.0)),
        _const("half", np.float32(0.5)),
    ]
    nodes = [
        helper.make_node("Squeeze", ["x", "axes0"], ["image"]),
        *_red_map_nodes("image", "red"),
        helper.make_node("Sub", ["red", "half"], ["c"]),
        helper.make_node("Mul", ["c", "ten"], ["red_logit"]),
        helper.make_node("Neg", ["red_logit"], ["bg_logit"]),
        helper.make_node("Concat", ["bg_logit", "red_logit"], ["l3"], axis=0),
        helper.make_node("Unsqueeze", ["l3", "axes0"], ["logits"]),
    ]
    dims = [1, 3, size or "H", size or "W"]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)]
    outputs = [
        helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2, size or "H", size or "W"])
    ]
    return _model(nodes, inputs, outputs, inits)


def with_custom_op(domain: str = "torchvision", op: str = "nms") -> bytes:
    """A graph that uses an operator of a domain ONNX Runtime does not have."""
    graph = helper.make_graph(
        [helper.make_node(op, ["x"], ["y"], domain=domain)],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(domain, 1)]
    )
    return model.SerializeToString()
