"""The Docker image holds what it needs: exactly what the Dockerfile's COPY lines name, installed without -e,
runs `appealbot --help`, `appealbot db upgrade` and `appealbot serve` until /healthz answers.

No Docker daemon here: the COPY lines are replayed into an empty folder, and the project is installed from
there into a fresh virtualenv (the dependencies come from this interpreter's site-packages, not the network).
"""

from __future__ import annotations

import fnmatch
import os
import shlex
import shutil
import site
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
WORKDIR = "/app"


def copy_lines() -> list[tuple[list[str], str]]:
    """(sources, destination) of each COPY instruction, flags (--chown...) left out."""
    found = []
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.split(maxsplit=1)[:1] == ["COPY"]:  # COPY lines of ours fit on one line
            words = shlex.split(line, comments=True)
            paths = [word for word in words[1:] if not word.startswith("--")]
            found.append((paths[:-1], paths[-1]))
    return found


def packages() -> set[str]:
    """The top-level packages pyproject.toml's packages.find installs ("bot*" -> bot)."""
    with (ROOT / "pyproject.toml").open("rb") as handle:
        include = tomllib.load(handle)["tool"]["setuptools"]["packages"]["find"]["include"]
    return {pattern.rstrip("*") for pattern in include}


def test_dockerfile_copies_every_installed_package() -> None:
    copied = {source for sources, _ in copy_lines() for source in sources}
    assert packages() <= copied, f"not copied into the image: {sorted(packages() - copied)}"
    # and every folder with an __init__.py at the top is one of them (or only for development)
    on_disk = {path.parent.name for path in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert on_disk <= packages(), f"packages missing from pyproject.toml: {sorted(on_disk - packages())}"


def test_dockerignore_keeps_out_nothing_the_image_copies() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for sources, _ in copy_lines():
        for source in sources:
            hit = [pattern for pattern in patterns if fnmatch.fnmatch(source, pattern.removeprefix("**/"))]
            assert not hit, f"{source} is copied but .dockerignore leaves it out ({hit})"
    assert {".git", ".env", "var", ".venv"} <= set(patterns)


def replay_copies(context: Path, image: Path) -> None:
    """Copy what each COPY line names from the build context into image/ as Docker would (WORKDIR /app)."""
    app = image / WORKDIR.lstrip("/")
    app.mkdir(parents=True)
    for sources, destination in copy_lines():
        target = app / destination
        for source in sources:
            origin = context / source
            if origin.is_dir():
                # COPY of a folder copies its contents into the destination folder
                shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            elif destination.endswith("/") or len(sources) > 1:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target / origin.name)
            else:
                shutil.copy2(origin, target)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """The image's /app folder and the environment of a fresh venv with the project installed from it."""
    base = tmp_path_factory.mktemp("image")
    replay_copies(ROOT, base / "image")
    app = base / "image" / "app"
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # The dependencies (and pip) from this interpreter; a plain path line, so its editable install of the
    # project (a .pth hook) is not picked up: the project itself comes only from the copy.
    dependencies = [path for path in site.getsitepackages() if path.endswith("site-packages")]
    Path(purelib, "dependencies.pth").write_text("\n".join(dependencies) + "\n", encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("APPEALBOT_", "PYTHON"))}
    env |= {
        "PATH": f"{venv / 'bin'}:{env.get('PATH', '')}",
        "APPEALBOT_CONFIG": str(app / "config.toml"),
        "APPEALBOT_MATCHING_EMBEDDER": "none",  # the start, not the model, is what is tested here
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    # Build isolation as in the image: setuptools comes from PyPI (or PIP_FIND_LINKS), the only network used.
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps"]
    done = subprocess.run([*pip, "."], cwd=app, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    yield app, env


def run_in_image(
    installed: tuple[Path, dict[str, str]], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    app, env = installed
    return subprocess.run(args, cwd=cwd or app, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_the_project_comes_from_the_copy_not_the_checkout(installed: tuple[Path, dict[str, str]]) -> None:
    # not from /app itself: `python -c` would import the copied sources from the current folder
    code = "import bot, tabular, enterprises; print(bot.__file__)"
    where = run_in_image(installed, "python", "-c", code, cwd=installed[0].parent.parent)
    assert where.returncode == 0, where.stderr[-2000:]
    assert "site-packages" in where.stdout and str(ROOT) not in where.stdout


@pytest.mark.slow
def test_help_upgrade_and_serve(installed: tuple[Path, dict[str, str]]) -> None:
    app, env = installed
    shown = run_in_image(installed, "appealbot", "--help")
    assert shown.returncode == 0 and "serve" in shown.stdout, shown.stderr[-2000:]
    upgraded = run_in_image(installed, "appealbot", "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr[-3000:]
    assert (app / "var" / "appealbot.db").exists()
    port = free_port()
    server = subprocess.Popen(
        ["appealbot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=app,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        status = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        assert server.poll() is None, (server.stdout.read() if server.stdout else "")[-3000:]
        assert status == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
