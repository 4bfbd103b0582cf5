"""The Dockerfile and compose.yaml, read as Docker and Compose read them: what a deployment relies on."""
from __future__ import annotations

import fnmatch
import json
import re
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath

import pytest
import yaml

from bot.config import DEFAULT_DATABASE_URL, ConfigError, load_config
from tests.conftest import ROOT

HEALTH_PATH, SERVER_PORT = "/healthz", 9108  # docs: the agreed [server] interface (default port, liveness path)
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
BOT, DB = COMPOSE["services"]["bot"], COMPOSE["services"]["db"]


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) as Docker reads them: comment lines dropped, continuations joined."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined.splitlines() if line.strip()]


STEPS = _instructions(DOCKERFILE)
FINAL = STEPS[max(i for i, (op, _) in enumerate(STEPS) if op == "FROM"):]  # the stage that ships


def _final(op: str) -> list[str]:
    return [args for name, args in FINAL if name == op]


def _env() -> dict[str, str]:
    return dict(re.findall(r"(\w+)=(\S+)", " ".join(_final("ENV"))))


def _healthcheck() -> tuple[dict[str, str], list[str]]:
    (args,) = _final("HEALTHCHECK")
    options, command = args.split("CMD", 1)
    return dict(re.findall(r"--([\w-]+)=(\S+)", options)), json.loads(command)


def _substitute(value: str) -> str:
    """Compose's ${VAR:-default} with VAR unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def test_the_image_is_built_in_two_stages_and_runs_as_a_user_with_data_in_a_volume():
    assert [op for op, _ in STEPS].count("FROM") == 2
    (user,) = _final("USER")
    assert user not in ("root", "0")
    assert _final("VOLUME") == ['["/data"]']
    # The default SQLite file, relative to the working directory, must land in that volume.
    (workdir,) = _final("WORKDIR")
    relative = DEFAULT_DATABASE_URL.removeprefix("sqlite:///")
    link = PurePosixPath(workdir) / PurePosixPath(relative).parts[0]
    assert any(f"ln -s /data {link}" in args for args in _final("RUN")), f"{link} must point at /data"


def test_the_image_switches_the_health_server_on_at_the_exposed_port_and_checks_it():
    assert _env()["DEALTICKER_SERVER_LISTEN"] == "0.0.0.0"
    assert _final("EXPOSE") == [str(SERVER_PORT)]
    options, command = _healthcheck()
    assert command[:2] == ["python", "-c"]  # the image's own Python: slim images have no curl
    assert f"http://127.0.0.1:{SERVER_PORT}{HEALTH_PATH}'" in command[2]
    assert set(options) == {"interval", "timeout", "start-period", "retries"}


def test_the_image_sets_no_secret_a_compose_file_variable_would_collide_with():
    """NAME and NAME_FILE together are a configuration error, so the image must set neither."""
    names = {key.removesuffix("_FILE") for key in BOT["environment"] if key.endswith("_FILE")}
    assert names and not names & {key.removesuffix("_FILE") for key in _env()}


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):
        self.send_response(self.status if self.path == HEALTH_PATH else 404)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def health_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _run_check(port: int) -> int:
    """The image's HEALTHCHECK command, with this Python and another port."""
    _, command = _healthcheck()
    code = command[2].replace(f":{SERVER_PORT}/", f":{port}/")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30).returncode


def test_the_health_check_passes_on_200_and_fails_on_503_or_no_server(health_server):
    port = health_server.server_address[1]
    _Health.status = 200
    assert _run_check(port) == 0
    _Health.status = 503
    assert _run_check(port) != 0
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        free = closed.getsockname()[1]
    assert _run_check(free) != 0


def test_compose_checks_the_bot_as_the_image_does():
    """Podman builds OCI images by default and drops HEALTHCHECK, so compose.yaml states it too."""
    options, command = _healthcheck()
    check = BOT["healthcheck"]
    assert check["test"] == ["CMD", *command]
    # podman 4's Docker-compatible API (docker-compose on podman) splits arguments at spaces.
    assert not any(re.search(r"\s", part) for part in check["test"])
    assert {key.replace("_", "-"): str(value) for key, value in check.items() if key != "test"} == options


def test_the_bot_waits_for_a_healthy_postgresql_with_its_data_in_a_named_volume():
    assert DB["image"].startswith("postgres:")
    env = DB["environment"]
    test = DB["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] == "pg_isready"
    assert f"--username={env['POSTGRES_USER']}" in test and f"--dbname={env['POSTGRES_DB']}" in test
    (volume,) = DB["volumes"]
    name, target = volume.split(":")
    assert target == "/var/lib/postgresql/data" and name in COMPOSE["volumes"]
    assert BOT["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert {BOT["restart"], DB["restart"]} == {"unless-stopped"}


def test_the_configuration_is_mounted_read_only_and_the_default_one_is_valid():
    mounts = [_substitute(v).split(":") for v in BOT["volumes"]]
    ((source, target, mode),) = [m for m in mounts if m[1] == "/config"]
    assert mode == "ro"
    config = PurePosixPath(BOT["environment"]["DEALTICKER_CONFIG"])
    assert config.parent == PurePosixPath(target)
    assert load_config(ROOT / source / config.name, env={}).feeds


def test_the_health_port_is_published_on_this_host_only():
    for mapping in BOT["ports"]:
        host, _, container = mapping.rsplit(":", 2)
        assert host == "127.0.0.1" and container == str(SERVER_PORT)
    assert "ports" not in DB  # the database stays inside the Compose network


def _secret_files() -> dict[str, Path]:
    """Each *_FILE variable of the bot and the file Compose mounts there."""
    out = {}
    for variable, target in BOT["environment"].items():
        if variable.endswith("_FILE"):
            secret = PurePosixPath(target).name
            assert target == f"/run/secrets/{secret}" and secret in BOT["secrets"]
            out[variable] = ROOT / COMPOSE["secrets"][secret]["file"]
    return out


def test_the_secret_files_are_never_committed():
    ignored = [line.strip() for line in (ROOT / ".gitignore").read_text().splitlines() if line.strip()]
    dockerignored = (ROOT / ".dockerignore").read_text().split()
    for path in [*_secret_files().values(), ROOT / COMPOSE["secrets"]["postgres_password"]["file"]]:
        relative = path.relative_to(ROOT).as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in ignored), relative
        assert relative.split("/")[0] in dockerignored


def test_every_file_variable_compose_sets_is_one_the_configuration_reads(tmp_path):
    """Each *_FILE the bot gets changes the configuration exactly as the plain variable would."""
    values = {"DATABASE_URL": "postgresql+psycopg://dealticker:pw@db:5432/dealticker",
              "TELEGRAM_BOT_TOKEN": "123456789:AAHk2o_very-secret-token-value-12345",
              "SLACK_BOT_TOKEN": "xoxb-1-2", "SLACK_APP_TOKEN": "xapp-1"}
    config = ROOT / "config" / "dealticker.toml"
    names = [variable.removesuffix("_FILE") for variable in _secret_files()]
    assert set(names) == set(values), "a secret the test has no value for"
    for name in names:
        (tmp_path / name).write_text(values[name] + "\n")
    from_files = load_config(config, env={f"{n}_FILE": str(tmp_path / n) for n in names})
    assert from_files == load_config(config, env=values)
    for name in names:  # and each one matters
        try:
            without = load_config(config, env={n: values[n] for n in names if n != name})
        except ConfigError:
            continue
        assert without != from_files, name
    assert (ROOT / COMPOSE["secrets"]["postgres_password"]["file"]).parent == ROOT / "secrets"
    assert DB["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
