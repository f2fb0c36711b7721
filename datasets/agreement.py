"""Annotator agreement on the sphere.

For every panorama of a round and every pair of annotators (and each annotator against a
reference, e.g. ground truth kept in the main Instance table):

* per class, the IoU of the two annotators' class regions (union of their instances of
  that class), measured ON THE SPHERE: intersection and union areas in steradians, summed
  over panoramas before dividing (so big and small panoramas/objects weigh by solid angle);
* instance matching: per class, Hungarian assignment (scipy ``linear_sum_assignment``)
  maximising spherical IoU; pairs at or above the round's threshold are matches (listed
  with both instances' ids and their IoU), the rest are disagreements (``unmatched`` on one
  side, or ``low_iou`` pairs), also with the instances' ids.

Only SUBMITTED replicas count: a draft is an annotator's unfinished work, so it is left out
(the report lists, per annotator, the panoramas still without a submitted replica).
Instance ids: the reference's are ``Instance`` ids; a replica's are the ids its instances
were saved with (``id``, optional), else ``"<replica id>:<index>"``.

Areas, IoUs, unions and intersections come from the geometry core (``label360.sphere``).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import geom

Labels = list[dict[str, Any]]  # [{"label_class": id, "geometry": [...], "id": ...}, ...]


@dataclass
class ClassTotals:
    intersection_sr: float = 0.0
    union_sr: float = 0.0
    matched: int = 0
    unmatched_a: int = 0
    unmatched_b: int = 0
    matched_iou_sum: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "iou": self.intersection_sr / self.union_sr if self.union_sr > 0 else None,
            "intersection_sr": self.intersection_sr,
            "union_sr": self.union_sr,
            "matched": self.matched,
            "unmatched_a": self.unmatched_a,
            "unmatched_b": self.unmatched_b,
            "mean_matched_iou": self.matched_iou_sum / self.matched if self.matched else None,
        }


@dataclass
class PairResult:
    a: str
    b: str
    classes: dict[int, ClassTotals] = field(default_factory=lambda: defaultdict(ClassTotals))
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    matches: list[dict[str, Any]] = field(default_factory=list)

    def overall(self) -> dict[str, Any]:
        total = ClassTotals()
        for t in self.classes.values():
            total.intersection_sr += t.intersection_sr
            total.union_sr += t.union_sr
            total.matched += t.matched
            total.unmatched_a += t.unmatched_a
            total.unmatched_b += t.unmatched_b
            total.matched_iou_sum += t.matched_iou_sum
        return total.as_dict()


def class_region_overlap(a: list[list], b: list[list]) -> tuple[float, float]:
    """(intersection, union) in steradians of two class regions given as instance lists."""
    ua, ub = geom.union(a), geom.union(b)
    area_a = geom.area(ua) if ua else 0.0
    area_b = geom.area(ub) if ub else 0.0
    inter = geom.area(geom.intersection(ua, ub)) if ua and ub else 0.0
    return inter, area_a + area_b - inter


def match_instances(a: list[list], b: list[list], threshold: float):
    """Hungarian matching on spherical IoU: (pairs [(i, j, iou)], unmatched_a, unmatched_b)."""
    if not a or not b:
        return [], list(range(len(a))), list(range(len(b)))
    # only here: the views that import this module stay light until a report is computed
    from scipy.optimize import linear_sum_assignment

    ious = np.array([[geom.iou(x, y) for y in b] for x in a], dtype=float)
    rows, cols = linear_sum_assignment(-ious)
    pairs = [(int(i), int(j), float(ious[i, j])) for i, j in zip(rows, cols, strict=True)]
    good = [p for p in pairs if p[2] >= threshold]
    used_a = {p[0] for p in good}
    used_b = {p[1] for p in good}
    low = [p for p in pairs if p[2] < threshold]
    return (
        good + low,
        [i for i in range(len(a)) if i not in used_a],
        [j for j in range(len(b)) if j not in used_b],
    )


def _record(
    panorama_id: int,
    cid: int,
    kind: str,
    i: int | None,
    j: int | None,
    ids_a: list,
    ids_b: list,
    iou: float,
) -> dict[str, Any]:
    """One match or disagreement: indices within the class and the instances' ids."""
    return {
        "panorama": panorama_id,
        "class": cid,
        "kind": kind,
        "a_index": i,
        "b_index": j,
        "a_id": None if i is None else ids_a[i],
        "b_id": None if j is None else ids_b[j],
        "iou": iou,
    }


def compare_panorama(
    result: PairResult, panorama_id: int, a: Labels, b: Labels, threshold: float
) -> None:
    """Add one panorama's comparison of labellings ``a`` and ``b`` to ``result``."""
    by_class_a: dict[int, list] = defaultdict(list)
    by_class_b: dict[int, list] = defaultdict(list)
    for k, item in enumerate(a):
        by_class_a[item["label_class"]].append((item.get("id", k), item["geometry"]))
    for k, item in enumerate(b):
        by_class_b[item["label_class"]].append((item.get("id", k), item["geometry"]))
    for cid in sorted(set(by_class_a) | set(by_class_b)):
        ids_a = [i for i, _ in by_class_a.get(cid, [])]
        ids_b = [i for i, _ in by_class_b.get(cid, [])]
        ga = [g for _, g in by_class_a.get(cid, [])]
        gb = [g for _, g in by_class_b.get(cid, [])]
        totals = result.classes[cid]
        inter, union = class_region_overlap(ga, gb)
        totals.intersection_sr += inter
        totals.union_sr += union
        pairs, un_a, un_b = match_instances(ga, gb, threshold)

        for i, j, iou in pairs:
            if iou >= threshold:
                totals.matched += 1
                totals.matched_iou_sum += iou
                match = _record(panorama_id, cid, "match", i, j, ids_a, ids_b, iou)
                del match["kind"]
                result.matches.append(match)
            else:
                result.disagreements.append(
                    _record(panorama_id, cid, "low_iou", i, j, ids_a, ids_b, iou)
                )
        totals.unmatched_a += len(un_a)
        totals.unmatched_b += len(un_b)
        for i in un_a:
            if not any(p[0] == i for p in pairs):
                result.disagreements.append(
                    _record(panorama_id, cid, "only_in_a", i, None, ids_a, ids_b, 0.0)
                )
        for j in un_b:
            if not any(p[1] == j for p in pairs):
                result.disagreements.append(
                    _record(panorama_id, cid, "only_in_b", None, j, ids_a, ids_b, 0.0)
                )


def agreement_report(
    labellings: dict[int, dict[str, Labels]],
    class_names: dict[int, str],
    threshold: float = 0.5,
    reference: str | None = None,
) -> dict[str, Any]:
    """The report of a round.

    ``labellings``: panorama id -> {labeller name -> labels}. Pairs are every two labellers
    (excluding the reference) plus each labeller against ``reference`` when given.
    """
    names = sorted({n for per in labellings.values() for n in per if n != reference})
    pairs = list(itertools.combinations(names, 2))
    if reference is not None:
        pairs += [(reference, n) for n in names]
    results = {pair: PairResult(*pair) for pair in pairs}
    for pano_id in sorted(labellings):
        per = labellings[pano_id]
        for (na, nb), result in results.items():
            if na in per and nb in per:
                compare_panorama(result, pano_id, per[na], per[nb], threshold)
    out_pairs = []
    for result in results.values():
        out_pairs.append(
            {
                "a": result.a,
                "b": result.b,
                "overall": result.overall(),
                "classes": {
                    class_names.get(cid, str(cid)): t.as_dict()
                    for cid, t in sorted(result.classes.items())
                },
                "matches": [
                    {**m, "class": class_names.get(m["class"], str(m["class"]))}
                    for m in result.matches
                ],
                "disagreements": [
                    {**d, "class": class_names.get(d["class"], str(d["class"]))}
                    for d in result.disagreements
                ],
            }
        )
    # per class across all annotator pairs (reference pairs excluded)
    per_class: dict[int, ClassTotals] = defaultdict(ClassTotals)
    overall = ClassTotals()
    for (na, _nb), result in results.items():
        if reference is not None and na == reference:
            continue
        for cid, t in result.classes.items():
            for target in (per_class[cid], overall):
                target.intersection_sr += t.intersection_sr
                target.union_sr += t.union_sr
                target.matched += t.matched
                target.unmatched_a += t.unmatched_a
                target.unmatched_b += t.unmatched_b
                target.matched_iou_sum += t.matched_iou_sum
    return {
        "threshold": threshold,
        "annotators": names,
        "reference": reference,
        "panoramas": sorted(labellings),
        "overall": overall.as_dict(),
        "classes": {class_names.get(c, str(c)): t.as_dict() for c, t in sorted(per_class.items())},
        "pairs": out_pairs,
    }


def report_csv(report: dict[str, Any]) -> str:
    """Flat CSV in three sections separated by a blank line: one row per (pair, class) plus
    an 'ALL' row per pair; the matches (instance ids and IoU); the disagreements."""
    buffer = io.StringIO()
    w = csv.writer(buffer)
    w.writerow(
        [
            "a",
            "b",
            "class",
            "iou",
            "intersection_sr",
            "union_sr",
            "matched",
            "unmatched_a",
            "unmatched_b",
            "mean_matched_iou",
        ]
    )
    for pair in report["pairs"]:
        rows = list(pair["classes"].items()) + [("ALL", pair["overall"])]
        for name, t in rows:
            w.writerow(
                [
                    pair["a"],
                    pair["b"],
                    name,
                    t["iou"],
                    t["intersection_sr"],
                    t["union_sr"],
                    t["matched"],
                    t["unmatched_a"],
                    t["unmatched_b"],
                    t["mean_matched_iou"],
                ]
            )
    w.writerow([])
    w.writerow(["a", "b", "panorama", "class", "a_id", "b_id", "iou"])
    for pair in report["pairs"]:
        for m in pair.get("matches", []):
            w.writerow(
                [pair["a"], pair["b"], m["panorama"], m["class"], m["a_id"], m["b_id"], m["iou"]]
            )
    w.writerow([])
    w.writerow(["a", "b", "panorama", "class", "kind", "a_index", "b_index", "a_id", "b_id", "iou"])
    for pair in report["pairs"]:
        for d in pair["disagreements"]:
            w.writerow(
                [
                    pair["a"],
                    pair["b"],
                    d["panorama"],
                    d["class"],
                    d["kind"],
                    d["a_index"],
                    d["b_index"],
                    d.get("a_id"),
                    d.get("b_id"),
                    d["iou"],
                ]
            )
    return buffer.getvalue()


def round_report(round_, reference: str | None = "main") -> dict[str, Any]:
    """Report of an AgreementRound from its SUBMITTED replicas; ``reference='main'``
    compares against the panorama's (non-suggestion) instances in the main table, ``None``
    compares annotators only."""
    from annotations.models import Instance, LabelClass

    labellings: dict[int, dict[str, Labels]] = defaultdict(dict)
    submitted: dict[str, set[int]] = defaultdict(set)
    for replica in (
        round_.replicas.filter(submitted=True)
        .select_related("annotator")
        .order_by("panorama_id", "annotator_id")
    ):
        name = replica.annotator.username
        labellings[replica.panorama_id][name] = [
            {**item, "id": item.get("id") or f"{replica.pk}:{k}"}
            for k, item in enumerate(replica.instances)
        ]
        submitted[name].add(replica.panorama_id)
    pano_ids = sorted(round_.panoramas.values_list("id", flat=True))
    ref_name = None
    if reference == "main":
        ref_name = "reference"
        for pid in pano_ids:
            labellings[pid][ref_name] = []
        rows = (
            Instance.objects.filter(panorama_id__in=pano_ids, is_suggestion=False)
            .order_by("panorama_id", "order", "id")
            .values_list("id", "panorama_id", "label_class_id", "geometry")
        )
        for pk, pid, cid, g in rows.iterator():
            labellings[pid][ref_name].append({"label_class": cid, "geometry": g, "id": pk})
    names = dict(LabelClass.objects.filter(project=round_.project).values_list("id", "name"))
    report = agreement_report(dict(labellings), names, round_.iou_threshold, ref_name)
    annotators = sorted(round_.annotators.values_list("username", flat=True))
    report["missing"] = {
        user: [p for p in pano_ids if p not in submitted.get(user, set())] for user in annotators
    }
    return report
