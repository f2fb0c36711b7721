"""Score calibration: a calibrated score is the probability that a suggestion is right
(IoU ≥ 0.5), and classes with poor validation precision are not suggested."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from inference.prelabel.calibration import MIN_SAMPLES, Calibration, fit, suggestion_outcomes

SQUARE = [[[[10.0, -5.0], [20.0, -5.0], [20.0, 5.0], [10.0, 5.0]]]]
SHIFTED = [[[[11.0, -5.0], [21.0, -5.0], [21.0, 5.0], [11.0, 5.0]]]]
FAR = [[[[60.0, -5.0], [70.0, -5.0], [70.0, 5.0], [60.0, 5.0]]]]
HALF = [[[[10.0, -5.0], [14.0, -5.0], [14.0, 5.0], [10.0, 5.0]]]]


def test_outcomes_mark_a_suggestion_right_at_iou_05():
    truth = [("car", SQUARE)]
    got = suggestion_outcomes(
        truth,
        [("car", SHIFTED, 0.9), ("car", FAR, 0.8), ("car", HALF, 0.7), ("pole", SQUARE, 0.6)],
        width=720,
    )
    assert got == [("car", 0.9, True), ("car", 0.8, False), ("car", 0.7, False),
                   ("pole", 0.6, False)]  # fmt: skip


def test_calibrated_scores_are_frequencies_of_being_right():
    """Raw scores that overstate (pole: raw 0.5 is right 10 % of the time) and understate
    (car: raw 0.5 is right 80 % of the time) both come out near the true frequency."""
    rng = np.random.default_rng(0)
    truth_p = {"car": lambda r: 0.8 + 0.15 * (r - 0.5), "pole": lambda r: 0.1 + 0.1 * (r - 0.5)}
    outcomes = []
    for name, p in truth_p.items():
        for raw in rng.uniform(0.3, 0.7, 600):
            outcomes.append((name, float(raw), bool(rng.random() < p(raw))))
    cal = fit(outcomes)
    assert cal.fitted and cal.samples == 1200
    for name, p in truth_p.items():
        for raw in (0.4, 0.5, 0.6):
            assert abs(cal.score(name, raw) - p(raw)) < 0.07, (name, raw, cal.score(name, raw))
        # reliability: the mean calibrated score equals the observed rate of being right
        mine = [(cal.score(n, r), right) for n, r, right in outcomes if n == name]
        assert abs(np.mean([s for s, _ in mine]) - np.mean([r for _, r in mine])) < 0.03
    assert cal.precision("car") > 0.75 and cal.precision("pole") < 0.15
    assert cal.allows("car", 0.5) and not cal.allows("pole", 0.5)
    assert not cal.allows("tree", 0.0)  # never seen on validation panoramas: nothing says it works
    assert (
        abs(Calibration.from_json(cal.to_json()).score("car", 0.5) - cal.score("car", 0.5)) < 1e-5
    )


def test_too_little_data_leaves_scores_raw_and_every_class_allowed():
    few = [("car", 0.6, True), ("car", 0.4, False)] * ((MIN_SAMPLES - 1) // 2)
    cal = fit(few)
    assert not cal.fitted and cal.score("car", 0.37) == 0.37 and cal.allows("anything", 0.9)
    # precision is still reported, with one right and one wrong pseudo-count
    assert cal.precision("car") == round((len(few) / 2 + 1) / (len(few) + 2), 4)
    all_right = fit([("car", 0.6, True)] * 20)
    assert not all_right.fitted  # one outcome only: nothing to fit


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["car", "pole", "tree"]),
            st.floats(0.0, 1.0, allow_nan=False),
            st.booleans(),
        ),
        max_size=80,
    ),
    st.floats(0.0, 1.0, allow_nan=False),
)
def test_fit_fuzz_gives_probabilities(outcomes, raw):
    cal = fit(outcomes)
    for name in ("car", "pole", "tree"):
        value = cal.score(name, raw)
        assert np.isfinite(value) and 0.0 <= value <= 1.0
