"""Instructions a first sync executes, counted by valgrind: to compare two versions of the code.

Not a benchmark with a target (backfill.py measures issue 14's CPU): CPU seconds on this
shared machine move by up to a third within an hour, so a change of a few percent cannot be
seen in them. Instructions can: valgrind's callgrind counts the same total for the same
code and input whatever else the machine does (two runs of 2,000 people differed by 0.4%,
the sandbox's own timing deciding a few polls).

N people (default 2,000) are preloaded in a sandbox in its own process (not counted); this
process runs one first sync, SQLite in a temporary directory, under callgrind with its
instrumentation switched on for the sync only (`callgrind_control -i on|off`). Needs
Debian's valgrind. About a minute for 2,000 people.
Run: `.venv/bin/python benchmarks/instructions.py [--people N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

# The shared harness lives with the tests; this script runs from the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.harness import ROOT, start_sandbox, stop_process

from leadbridge.sync.pipeline import cycle
from leadbridge.sync.runtime import build, sandbox_env

_INSIDE = "--inside-valgrind"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument(_INSIDE, action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside_valgrind:
        _sync(args.people)
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            sys.executable,
            __file__,
            _INSIDE,
            "--people",
            str(args.people),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"the sync under valgrind failed:\n{done.stderr[-3000:]}")
        found = re.search(r"^totals: (\d+)", out.read_text(), re.MULTILINE)
        if found is None:
            raise SystemExit(f"callgrind wrote no totals to {out}")
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        instructions = int(found[1])
        figures["instructions"] = instructions
        figures["instructions_per_person"] = round(instructions / args.people)
        print(json.dumps(figures), flush=True)


def _sync(people: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sandbox, info = start_sandbox(Path(tmp) / "tls", leads=people, limits=False)
        try:
            env = {**sandbox_env(info), "REQUESTS_CA_BUNDLE": info["ca_bundle"]}
            runtime = build(ROOT / "mappings", ROOT / "connectors", f"sqlite:///{tmp}/s.db", env)
            _instrument("on")
            summary = cycle(runtime.pipeline)
            _instrument("off")
            runtime.close()
        finally:
            stop_process(sandbox)
    print(json.dumps({"people": people, "leads_decided": summary.leads_decided}), flush=True)


def _instrument(state: str) -> None:
    subprocess.run(
        ["callgrind_control", "-i", state, str(os.getpid())], capture_output=True, check=True
    )


if __name__ == "__main__":
    main()
