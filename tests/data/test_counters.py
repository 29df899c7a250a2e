"""Counts by reason: added, merged (chains, shards, benchmarks), most frequent first, groups as first counted."""

from thinktrim.data.counters import Counts


def test_counts_add_merge_and_order() -> None:
    a = Counts()
    a.add("rejected_by_field", "question")
    a.add_all("judge_failures_by_reason", ["invalid verdict", "request failed: HTTP 503", "invalid verdict"])
    a.add("rejected_by_field", "response", 0)  # nothing counted: no entry
    b = Counts({"judge_failures_by_reason": {"request failed: HTTP 503": 3}, "rejected_by_field": {"id": 1}})
    a.update(b)
    assert a.to_dict() == {
        "rejected_by_field": {"id": 1, "question": 1},
        "judge_failures_by_reason": {"request failed: HTTP 503": 4, "invalid verdict": 2},
    }
    assert list(a.to_dict()) == ["rejected_by_field", "judge_failures_by_reason"]
    assert list(a.group("judge_failures_by_reason")) == ["request failed: HTTP 503", "invalid verdict"]
    assert a.total("judge_failures_by_reason") == 6 and a.total("nothing") == 0 and a.group("nothing") == {}
    assert Counts(a.to_dict()) == a and bool(a) and not Counts()
