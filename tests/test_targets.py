"""The benchmark's targets judged on timings made here: a goal's text and its check are one thing, a
figure without a goal is shown and never met, and a figure a busy machine made impossible is
"unsure", never met. Fast: no benchmark runs.
"""

import pytest

from benchmarks.results import Results, Timing
from benchmarks.targets import BUSY, Goal, Target, folder_rate, judged, targets

SHARE_OF_NUMPY = "best float32 variant at batch 1,024, share of numpy matmul"
FOLDER_SHARE = "folder, 1 worker, start-up excluded, share of Pillow's decode-only rate"


def timing(seconds: float, batch: int = 1, rounds: int = 15, spread: float = 0.0) -> Timing:
    """`rounds` calls of median `seconds` and fastest 0.9 of it (each a batch of `batch`); `spread`:
    their interquartile range over the median."""
    return Timing(rounds, seconds * 0.9, seconds, seconds * (1 + spread), seconds * spread, batch)


def by_figure(results: Results) -> dict[str, dict]:
    return {t["figure"]: t for t in judged(results, elapsed=60.0)}


@pytest.mark.parametrize(
    ("sign", "bound", "text", "passes", "fails"),
    [(">=", 1.8, ">= 1.8", 1.8, 1.79), ("<=", 1.3, "<= 1.3", 1.3, 1.31), ("<", 100, "< 100", 99.9, 100)],
)
def test_a_goal_reads_as_it_checks(sign, bound, text, passes, fails):
    goal = Goal(sign, bound)
    assert str(goal) == text and goal.met(passes) and not goal.met(fails)


def test_every_goal_text_is_made_from_its_check():
    """No target carries a goal text of its own: each is its Goal, and a figure with none has none."""
    found = targets(elapsed=1.0)
    assert len({t.figure for t in found}) == len(found)
    for target in found:
        if target.goal is not None:
            assert target.goal.sign in (">=", "<=", "<") and str(target.goal).endswith(
                f"{target.goal.bound:g}"
            )
    assert {t.figure for t in found if t.goal is None} >= {
        "tflite-int8 speed-up over tflite-float32, batch 1, through Predictor.predict",
        "folder of PNGs, predict CLI, 1 worker, start-up excluded",
    }


def test_a_figure_without_a_goal_is_shown_not_met():
    target = Target("anything", lambda r: 3.0)
    judged_once = target.judge(Results(), Results())
    assert judged_once["verdict"] == "shown" and judged_once["goal"] is None and judged_once["value"] == 3.0


def test_a_figure_not_measured_is_said_so():
    assert Target("x", lambda r: None, Goal(">=", 1)).judge(Results(), Results())["verdict"] == "not measured"


def test_met_only_when_the_medians_and_the_fastest_calls_agree():
    """The issue's run: 3.79 from the medians, 0.36 from the fastest calls; reported unsure, not met."""
    medians, fastest = Results(), Results()
    medians.add("a", "x", timing(3.79))
    fastest.add("a", "x", timing(0.36))
    target = Target("share", lambda r: r.p50("a", "x"), Goal(">=", 0.8))
    judged_once = target.judge(medians, fastest)
    assert judged_once["verdict"] == "unsure" and judged_once["doubt"] == BUSY
    assert target.judge(medians, medians)["verdict"] == "met"
    assert target.judge(fastest, fastest)["verdict"] == "NOT MET"


def machine_under_load(numpy_b1024: Timing) -> Results:
    """tflite-float32 at 1M img/s, batch 1,024, beside numpy's matmul at batch 1 and 1,024."""
    results = Results()
    results.add("numpy", "b1", timing(6e-6))
    results.add("numpy", "b1024", numpy_b1024)
    results.add("tflite-float32", "b1024", timing(1024 / 1e6, 1024))
    return results


def test_a_share_of_a_starved_numpy_is_never_met():
    """numpy's batch 1,024 at 30 ms (per image slower than its batch 1): every core was taken by other
    processes; the share it gives (29x) is impossible, so the target is unsure, whatever min says."""
    figure = by_figure(machine_under_load(timing(0.030, 1024)))[SHARE_OF_NUMPY]
    assert figure["value"] == pytest.approx(29.30, rel=1e-3)
    assert figure["verdict"] == "unsure" and "slower per image than batch 1" in figure["doubt"]


def test_a_share_of_a_noisy_numpy_is_never_met():
    figure = by_figure(machine_under_load(timing(0.001, 1024, spread=1.09)))[SHARE_OF_NUMPY]
    assert figure["verdict"] == "unsure" and "spread 109%" in figure["doubt"]


def test_a_share_of_a_sound_numpy_is_judged():
    figure = by_figure(machine_under_load(timing(0.001, 1024, spread=0.05)))[SHARE_OF_NUMPY]
    assert (
        figure["value"] == pytest.approx(0.9765625) and figure["verdict"] == "met" and figure["doubt"] is None
    )


def test_the_folder_rate_leaves_the_start_up_out():
    """10,000 images in 1.2 s, one image in 0.2 s: 9,999 images in 1.0 s; Pillow decodes 20k/s."""
    results = Results()
    results.add("folder", "workers-1", timing(1.2, 10_000))
    results.add("folder", "one-image", timing(0.2, 1))
    results.add("pillow", "folder", timing(0.5, 10_000))
    assert folder_rate(results) == pytest.approx(9_999)
    figures = by_figure(results)
    assert figures[FOLDER_SHARE]["value"] == pytest.approx(9_999 / 20_000)
    assert figures[FOLDER_SHARE]["verdict"] == "NOT MET"
    results.add("folder", "workers-1", timing(0.6, 10_000))
    assert by_figure(results)[FOLDER_SHARE]["verdict"] == "met"


def test_no_folder_rate_without_its_start_up_run():
    results = Results()
    results.add("folder", "workers-1", timing(1.2, 10_000))
    assert folder_rate(results) is None
    assert by_figure(results)[FOLDER_SHARE]["verdict"] == "not measured"
