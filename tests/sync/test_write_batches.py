"""Between rounds only whole calls go out, and never out of order for one record."""

from __future__ import annotations

from leadbridge.model import RecordWrite, System
from leadbridge.store import LoggedWrite
from leadbridge.sync.write import _whole, least_calls

HS = System.HUBSPOT


def _logged(n: int, record: str, steps: int = 1) -> LoggedWrite:
    write = RecordWrite(HS, "contact", record, tuple({"n": n} for _ in range(steps)))
    return LoggedWrite(f"k{n:04}", f"lead{record}", "planned", 0, write)


def test_only_whole_calls_of_each_kind_the_oldest_first() -> None:
    one_step = [_logged(n, f"r{n}") for n in range(250)]
    two_steps = [_logged(1000 + n, f"s{n}", steps=2) for n in range(120)]
    chosen = _whole([*one_step, *two_steps], 100)
    assert [w.key for w in chosen] == [w.key for w in one_step[:200] + two_steps[:100]]


def test_a_record_held_back_holds_its_later_writes() -> None:
    # r0's two-step write is a remainder; its later one-step write must wait with it, or the
    # older write would land after the newer and undo it.
    older = _logged(0, "r0", steps=2)
    later = [_logged(n, "r0" if n == 1 else f"r{n}") for n in range(1, 101)]
    chosen = _whole([older, *later], 100)
    assert older not in chosen and later[0] not in chosen
    assert chosen == later[1:]


def test_nothing_goes_out_when_no_call_would_be_full() -> None:
    assert _whole([_logged(n, f"r{n}") for n in range(99)], 100) == []


def test_the_least_possible_calls_pack_each_kind_of_write_at_the_maximum() -> None:
    updates = [_logged(n, f"r{n}").write for n in range(250)]
    backward = [_logged(500 + n, f"s{n}", steps=2).write for n in range(50)]
    creates = [
        RecordWrite(HS, "contact", None, ({"n": n},), key=("email", f"{n}@x.com"))
        for n in range(10)
    ]
    # First steps together (300 updates: 3 calls), second steps (1), creates apart (1).
    assert least_calls(HS, [*updates, *backward, *creates]) == 3 + 1 + 1
    assert least_calls(System.SALESFORCE, updates) == 2  # 200 a call
    assert least_calls(HS, []) == 0
