"""A changed funnel on the leads already in it: what `check --impact` shows before it ships
is what the next sync does (sync.redeploy), in both systems, once."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path
from typing import Any

from leadbridge.cli import main
from leadbridge.cli.impact import write_impact
from leadbridge.config import load_funnel
from leadbridge.store import Store
from tests.sync.conftest import DAY, ROOT, World

FIT: dict[str, Any] = {"industry": "COMPUTER_SOFTWARE", "numemployees": 200}
# An MQL by score and fit: fit 30, a form 5, HubSpot's score past 60 60: leadbridge's score 95.
SCORED = "sam.scored@acme.com"
RAISED = "rita.raised@acme.com"  # an MQL by a hand-raise, score 20


def _funnel_with_mqls(world: World) -> None:
    marketer = world.sandbox.hubspot.marketer
    marketer.new_contact(SCORED, "Sam", "Scored", company="Acme", **FIT)
    marketer.fill_form(SCORED, "download")
    marketer.set_score(SCORED, 65)
    marketer.new_contact(RAISED, "Rita", "Raised", company="Acme", **FIT)
    marketer.fill_form(RAISED, "contact_sales")
    marketer.set_score(RAISED, 20)
    world.sync()
    assert world.contact(SCORED)["lifecyclestage"] == "marketingqualifiedlead"
    assert world.contact(RAISED)["lifecyclestage"] == "marketingqualifiedlead"


def _mappings(tmp_path: Path, edit: dict[str, list[tuple[str, str]]]) -> Path:
    """A copy of the shipped mappings with each file's (pattern, replacement) edits."""
    target = tmp_path / "changed"
    shutil.copytree(ROOT / "mappings", target)
    for name, swaps in edit.items():
        path = target / name
        text = path.read_text(encoding="utf-8")
        for pattern, replacement in swaps:
            text, count = re.subn(pattern, replacement, text)
            assert count, (name, pattern)
        path.write_text(text, encoding="utf-8")
    return target


def _sync_with(world: World, mappings: Path) -> tuple[int, str]:
    world.later(60)
    out = io.StringIO()
    argv = ["sync", "--once", "--mappings", str(mappings), "--connectors", str(ROOT / "connectors")]
    from contextlib import redirect_stdout

    with redirect_stdout(out):
        code = main([*argv, "--database", world.database], clock=world.sandbox.clock.now)
    return code, out.getvalue()


def _impact(world: World, mappings: Path) -> str:
    out = io.StringIO()
    with Store.open(world.database, existing=True) as store:
        code = write_impact(load_funnel(mappings), store, out, where="the test database")
    assert code == 0, out.getvalue()
    return out.getvalue()


RAISE_THRESHOLD = {
    "handoff.yaml": [(r"- gte: \{score: 60\}", "- gte: {score: 100}")],
}


def test_a_raised_mql_threshold_sends_back_the_mqls_below_it(world: World, tmp_path: Path) -> None:
    _funnel_with_mqls(world)
    raised = _mappings(tmp_path, RAISE_THRESHOLD)
    shown = _impact(world, raised)
    assert "would move 1 of the 2 leads" in shown, shown
    assert "mql -> lead: 1 lead (rule score_and_fit changed)" in shown, shown
    assert (
        f"{SCORED}: rule score_and_fit no longer holds" in shown
        and "score 95;" not in shown
        and "score 95," in shown
    )
    assert RAISED not in shown  # a hand-raise is not the changed rule's doing
    assert "HubSpot contact 1 update" in shown, shown
    assert world.contact(SCORED)["lifecyclestage"] == "marketingqualifiedlead"  # nothing written

    code, said = _sync_with(world, raised)
    assert code == 0, said
    assert world.contact(SCORED)["lifecyclestage"] == "lead"
    assert world.contact(SCORED)["leadbridge_stage"] == "lead"
    assert world.contact(RAISED)["lifecyclestage"] == "marketingqualifiedlead"
    moves = world.moves(SCORED)
    assert ("mql", "lead", "score_and_fit", "funnel_changed") in moves, moves
    # Applied once: the next sync and the impact find nothing more to do.
    assert "moves none of the 2 leads" in _impact(world, raised)
    world.later(DAY)
    code, said = _sync_with(world, raised)
    assert code == 0 and world.contact(SCORED)["lifecyclestage"] == "lead"


def test_a_removed_stage_with_leads_in_it_is_refused_with_their_count(
    world: World, tmp_path: Path
) -> None:
    _funnel_with_mqls(world)
    # mql gone: its leads could never move again. Rules naming it go too.
    text = (ROOT / "mappings" / "stages.yaml").read_text(encoding="utf-8")
    start = text.index("  - name: mql")
    end = text.index("  - name:", start + 5)
    changed = _mappings(tmp_path, {})
    (changed / "stages.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    handoff = (changed / "handoff.yaml").read_text(encoding="utf-8")
    handoff = re.sub(r"move_to: mql", "move_to: sql", handoff)
    handoff = re.sub(r", mql\b|\bmql, ", "", handoff)
    (changed / "handoff.yaml").write_text(handoff, encoding="utf-8")
    load_funnel(changed)  # valid on its own: only the database shows the problem
    code, said = _sync_with(world, changed)
    assert code == 2, said
    assert "2 leads in mql" in said and "was: [mql]" in said, said
    assert world.contact(SCORED)["lifecyclestage"] == "marketingqualifiedlead"


def _renamed_sql(tmp_path: Path) -> Path:
    return _mappings(
        tmp_path,
        {
            "stages.yaml": [(r"  - name: sql\n", "  - name: sales_accepted\n    was: [sql]\n")],
            "handoff.yaml": [(r"\bsql\b", "sales_accepted")],
        },
    )


def test_a_renamed_stage_moves_its_leads_in_both_systems_and_rules_go_on(
    world: World, tmp_path: Path
) -> None:
    _funnel_with_mqls(world)
    rep = world.sandbox.salesforce.rep
    rep.set_status(world.lead(SCORED)["Id"], "Working")
    world.sync()
    assert world.contact(SCORED)["leadbridge_stage"] == "sql"
    renamed = _renamed_sql(tmp_path)
    shown = _impact(world, renamed)
    assert "sql -> sales_accepted: 1 lead (the stage was renamed)" in shown, shown

    code, said = _sync_with(world, renamed)
    assert code == 0, said
    contact = world.contact(SCORED)
    assert contact["leadbridge_stage"] == "sales_accepted"
    assert contact["lifecyclestage"] == "salesqualifiedlead"  # shown as before
    assert world.lead(SCORED)["Status"] == "Working"
    assert ("sql", "sales_accepted") in [move[:2] for move in world.moves(SCORED)]
    # The rep's next move finds a rule again (the story that was lost before `was:`).
    world.later(DAY)
    rep.set_status(world.lead(SCORED)["Id"], "Disqualified")
    code, said = _sync_with(world, renamed)
    assert code == 0, said
    assert world.contact(SCORED)["leadbridge_stage"] == "disqualified"
