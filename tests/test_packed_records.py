"""The recommender's packed records (recommender/records.py): the same mapping as the dicts
they pack, through every change a snapshot makes."""

from __future__ import annotations

import pickle

import pytest

from recommender.records import AnswerRecords, PackedRecords, RecordsView

RECORDS = {
    "tpa-regional": {"id": "tpa-regional", "kind": "case", "title": "TPA regional “Piyungan”",
                     "regions": ["34.71", "34.04"], "sectors": ["persampahan"], "lessons": ["Biaya dibagi per ton."]},
    "a": {"id": "a", "kind": "practice", "title": "Pendek"},
    "zona-sekolah": {"id": "zona-sekolah", "kind": "case", "title": "Zonasi sekolah lintas batas — SD/SMP",
                     "regions": ["33.74"], "language": "id"},
    "air-minum-ñ": {"id": "air-minum-ñ", "kind": "case", "title": "Air minum\u00a0(SPAM) regional", "regions": []},
}


def test_packed_records_read_back_as_the_dicts_they_pack():
    packed = PackedRecords(RECORDS)
    assert len(packed) == 4 and set(packed) == set(RECORDS)
    assert {k: packed[k] for k in packed} == RECORDS
    assert "a" in packed and "b" not in packed and "tpa" not in packed and 3 not in packed
    assert packed.get("tpa-regional-x") is None
    with pytest.raises(KeyError):
        packed["zona"]
    again = pickle.loads(pickle.dumps(packed))
    assert dict(again.items()) == RECORDS
    assert len(PackedRecords({})) == 0 and "a" not in PackedRecords({})


def test_a_view_removes_and_adds_without_touching_the_packed_records():
    packed = PackedRecords(RECORDS)
    view = RecordsView(packed)
    edited = {**RECORDS["a"], "title": "Diubah"}
    new = {"id": "baru", "kind": "case", "title": "Baru"}
    after = view.without(["a", "zona-sekolah", "tidak-ada"]).adding({"a": edited, "baru": new})
    assert after["a"] == edited and after["baru"] == new and "zona-sekolah" not in after
    assert len(after) == len(list(after)) == 4 == len(set(after))
    assert set(after) == {"tpa-regional", "air-minum-ñ", "a", "baru"}
    gone = after.without(["a", "baru"])
    assert set(gone) == {"tpa-regional", "air-minum-ñ"} and len(gone) == 2 and gone.get("a") is None
    assert view["a"] == RECORDS["a"] and len(view) == 4  # the older view is unchanged
    assert dict(RecordsView(changed={"x": {"id": "x"}})) == {"x": {"id": "x"}}


def test_an_answer_decodes_each_record_once_and_sees_the_view_as_it_is(monkeypatch):
    view = RecordsView(PackedRecords(RECORDS)).without(["a"]).adding({"new": {"id": "new", "kind": "case",
                                                                              "title": "Baru"}})
    decoded = []
    real = PackedRecords.__getitem__
    monkeypatch.setattr(PackedRecords, "__getitem__", lambda self, key: decoded.append(key) or real(self, key))
    answer = AnswerRecords(view)
    assert answer["tpa-regional"] == RECORDS["tpa-regional"]
    assert answer["tpa-regional"] is answer["tpa-regional"] and decoded == ["tpa-regional"]
    assert set(answer) == set(view) == {"tpa-regional", "zona-sekolah", "air-minum-ñ", "new"} and len(answer) == 4
    assert "a" not in answer and answer["new"]["title"] == "Baru"
    with pytest.raises(KeyError):
        answer["a"]
