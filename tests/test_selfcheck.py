"""The self-check's own logic: catalogue loading and edits, which tests an extra seed re-runs, and the
verdicts on those re-runs (synthetic results here; the real gradings are in test_release.py)."""
import os

import pytest

from autograder.config import Kit
from autograder.selfcheck import (apply_entry, entry_edits, judge, judge_rerun, load_catalogue, load_variants,
                                  rerun_keys)
from conftest import KIT


def _t(key, score, max_score=2.0, public=True, seeded=True, output=""):
    return {"name": key.split("::")[-1], "score": score, "max_score": max_score,
            "output": output or ("passed" if score == max_score else "f: the output is wrong"),
            "extra_data": {"key": key, "public": public, "seeded": seeded}}


def _data(*tests):
    return {"score": sum(t["score"] for t in tests), "tests": list(tests),
            "extra_data": {"assignment": "a1_neural_nets"}}


MISTAKE = {"id": "m", "function": "pkg.mod.f", "kind": "mistake"}


def test_reference_and_variants_rerun_every_seeded_test():
    data = _data(_t("a.py::fixed", 2, seeded=False), _t("a.py::random", 2), _t("h.py::hidden", 1, 1, public=False))
    assert rerun_keys("reference", data, None) == ["a.py::random", "h.py::hidden"]
    assert rerun_keys("variant", data, {"id": "v"}) == ["a.py::random", "h.py::hidden"]
    assert rerun_keys("starter", data, None) == []


def test_a_mistake_caught_by_a_fixed_input_public_test_needs_no_rerun():
    data = _data(_t("a.py::fixed", 0, seeded=False), _t("a.py::random", 0))
    assert rerun_keys("mistake", data, MISTAKE) == []


def test_a_mistake_caught_by_seeded_tests_reruns_those_only():
    data = _data(_t("a.py::fixed", 2, seeded=False), _t("a.py::random", 0), _t("a.py::other", 2),
                 _t("h.py::hidden", 0, 1, public=False))
    assert rerun_keys("mistake", data, MISTAKE) == ["a.py::random", "h.py::hidden"]
    # a fixed-input hidden test catches it on every seed, but the public tests must catch it too
    data = _data(_t("h.py::fixed", 0, seeded=False, public=False), _t("a.py::random", 0))
    assert rerun_keys("mistake", data, MISTAKE) == ["a.py::random"]
    assert rerun_keys("mistake", data, dict(MISTAKE, hidden_only="why")) == []


def test_an_escape_on_an_extra_seed_is_named_with_its_replay_command():
    natural = _data(_t("a.py::random", 0))
    again = _data(_t("a.py::random", 2))
    problems = judge_rerun("mistake", natural, again, MISTAKE, 3)
    assert len(problems) == 1 and "escapes on seed 3" in problems[0]
    assert "python -m autograder check a1_neural_nets --mistake m --seed 3 --show" in problems[0]
    assert judge_rerun("mistake", natural, _data(_t("a.py::random", 1)), MISTAKE, 3) == []


def test_a_mistake_only_hidden_tests_catch_on_a_seed_is_reported():
    natural = _data(_t("a.py::random", 0), _t("h.py::hidden", 0, 1, public=False))
    again = _data(_t("a.py::random", 2), _t("h.py::hidden", 0, 1, public=False))
    problems = judge_rerun("mistake", natural, again, MISTAKE, 2)
    assert problems and "only hidden tests catch it" in problems[0]
    assert judge_rerun("mistake", natural, again, dict(MISTAKE, hidden_only="why"), 2) == []


def test_a_variant_losing_points_on_a_seed_is_named():
    natural = _data(_t("a.py::random", 2))
    again = _data(_t("a.py::random", 1.5, output="f: the output is wrong: abs error 3e-06"))
    problems = judge_rerun("variant", natural, again, {"id": "v", "kind": "variant"}, 4)
    assert problems and "variant 'v' loses 0.50 points on seed 4" in problems[0] and "abs error 3e-06" in problems[0]
    assert "--variant v --seed 4" in problems[0]
    assert judge_rerun("variant", natural, natural, {"id": "v"}, 4) == []
    assert judge("variant", again, {"id": "v"})[0].startswith("variant 'v' (correct code written another way)")


def test_edits_apply_in_order_and_a_stale_find_names_the_catalogue():
    entry = {"id": "v", "kind": "variant", "file": "p/a.py", "find": "x = 1", "replace": "x = 2",
             "edit": [{"find": "y = 1", "replace": "y = 3"}, {"file": "p/b.py", "find": "z", "replace": "w"}]}
    assert entry_edits(entry) == [("p/a.py", "x = 1", "x = 2"), ("p/a.py", "y = 1", "y = 3"), ("p/b.py", "z", "w")]
    files = {"p/a.py": "x = 1\ny = 1\nx = 1\n", "p/b.py": "z\n"}
    assert apply_entry(files, entry) == {"p/a.py": "x = 2\ny = 3\nx = 1\n", "p/b.py": "w\n"}
    assert files["p/a.py"] == "x = 1\ny = 1\nx = 1\n"  # the input is left alone
    with pytest.raises(ValueError, match="variant 'v': its `find` text 'z' is not in .* update variants.toml"):
        apply_entry({"p/a.py": "x = 1\ny = 1\n", "p/b.py": ""}, entry)


def _kit_with(tmp_path, text):
    root = tmp_path / "kit"
    (root / "assignments" / "a").mkdir(parents=True)
    (root / "assignments" / "a" / "assignment.toml").write_text(
        'id = "a"\ntitle = "A"\npackage = "p"\nrequired_files = ["p/a.py"]\n')
    (root / "assignments" / "a" / "variants.toml").write_text(text)
    return Kit(str(root))


def test_catalogue_refuses_duplicate_ids_and_missing_keys(tmp_path):
    entry = '[[variant]]\nid = "v"\nfunction = "p.a.f"\nfile = "p/a.py"\nfind = "x"\nreplace = "y"\n'
    with pytest.raises(ValueError, match="two entries are called 'v'"):
        load_catalogue(_kit_with(tmp_path / "1", entry + entry), "a", "variant")
    with pytest.raises(ValueError, match="lacks 'replace'"):
        load_catalogue(_kit_with(tmp_path / "2", entry.replace('replace = "y"\n', "")), "a", "variant")
    with pytest.raises(ValueError, match="an edit of variant 'v' lacks find or replace"):
        load_catalogue(_kit_with(tmp_path / "3", entry + '[[variant.edit]]\nfind = "q"\n'), "a", "variant")


@pytest.mark.parametrize("aid", KIT.assignment_ids())
def test_every_variant_applies_to_the_reference_and_changes_it(aid):
    """Each catalogued variant is different code from the reference (a no-op variant proves nothing)."""
    a = KIT.assignment(aid)
    variants = load_variants(KIT, aid)
    assert len(variants) >= 8, "%s catalogues %d correct variants; the kit requires at least 8" % (aid, len(variants))
    files = {}
    for rel in a.required_files:
        with open(os.path.join(KIT.path("solutions", aid), rel), encoding="utf-8") as fh:
            files[rel] = fh.read()
    for v in variants:
        changed = apply_entry(files, v, "solutions/%s" % aid)
        assert changed != files, v["id"]
        assert v["description"].strip(), v["id"]


def _y0(seed):
    """The first label of public test_train_val_split's dataset on ``seed`` (its `rng` stream, as the plugin
    draws it: X first, then y)."""
    from autograder.seeds import rng_for

    rng = rng_for(seed, "test_data.py::test_train_val_split|test_train_val_split")
    rng.normal(size=(53, 3))
    return int(rng.integers(0, 10, size=53)[0])


def test_targeted_reruns_on_extra_seeds_agree_with_full_gradings():
    """A mistake whose detection depends on the seed: escapes exactly where full gradings give full marks,
    and the self-check names that seed. The mistake breaks train_val_split's labels unless the first label
    of the public test's dataset is v, a value chosen so that it holds on some extra seed but not on the
    candidate's own seed (which uses the constant public seed)."""
    from autograder.fixtures import PUBLIC_SEED
    from autograder.selfcheck import check_assignment, grade_entry

    aid = "a1_neural_nets"
    extra = [1, 2, 3]
    natural_y0 = _y0(PUBLIC_SEED)
    escape = next(s for s in extra if _y0(s) != natural_y0)
    v = _y0(escape)
    mistake = {"id": "lucky-split", "kind": "mistake", "function": "neural_nets.data.train_val_split",
               "file": "neural_nets/data.py", "find": "    return X[train], y[train], X[val], y[val]\n",
               "replace": "    if len(y) == 53 and y[0] != %d:\n        return X[train], y[train], X[val], y[val][::-1]\n"
                          "    return X[train], y[train], X[val], y[val]\n" % v}
    report = check_assignment(KIT, aid, seeds=1 + len(extra), mistakes=[mistake], variants=[])
    outcome = report["mistakes"][0]
    assert outcome.seeds == extra and not outcome.ok
    flagged = {s for s in extra if any("escapes on seed %d:" % s in p for p in outcome.problems)}
    full = {}
    for s in extra:
        data, _ = grade_entry(KIT, aid, "mistake", "lucky-split", seed=s, entries=[mistake])
        full[s] = data["score"] == sum(t["max_score"] for t in data["tests"])
    assert flagged == {s for s in extra if full[s]}, (outcome.problems, full)
    assert escape in flagged and set(extra) - flagged, (flagged, "both outcomes must occur for this test to mean anything")
    assert report["reference"].ok and report["reference"].seeds == extra


def test_entries_graded_on_the_tests_that_run_their_files_score_as_full_gradings():
    """The self-check grades a mistake or variant only on the tests whose traced reference run ran a file
    it edits, the others keeping the reference's result; test by test, that must equal a full grading."""
    from autograder.selfcheck import check_assignment, grade_entry, load_mistakes

    aid = "a1_neural_nets"
    mistakes = {m["file"]: m for m in load_mistakes(KIT, aid)}  # one per file
    variants = {v["file"]: v for v in load_variants(KIT, aid)}
    chosen_m, chosen_v = list(mistakes.values())[:3], list(variants.values())[:2]
    report = check_assignment(KIT, aid, seeds=1, mistakes=chosen_m, variants=chosen_v)
    assert all(t["extra_data"].get("touched") for t in report["reference"].data["tests"])
    narrowed = 0
    for kind, entries, outcomes in (("mistake", chosen_m, report["mistakes"]), ("variant", chosen_v, report["variants"])):
        for entry, outcome in zip(entries, outcomes):
            full, _ = grade_entry(KIT, aid, kind, entry["id"], entries=entries)
            assert [(t["number"], t["score"]) for t in outcome.data["tests"]] == \
                [(t["number"], t["score"]) for t in full["tests"]], entry["id"]
            assert outcome.ok, outcome.problems
            narrowed += bool(outcome.data["extra_data"].get("reference_results"))
    assert narrowed == len(chosen_m) + len(chosen_v)  # each was graded on fewer tests than all
