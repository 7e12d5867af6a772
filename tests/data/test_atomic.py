"""Outputs: ordinary permissions (the umask's, not 0600), and a process killed mid-write leaves nothing that
outlives the next write to the same folder."""

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend.cli import main
from data.atomic import write_atomically
from data.synthetic.cx import generate_cx

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def hidden(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*")]


@pytest.fixture(scope="module")
def cx_workspace(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cx") / "ws"
    generate_cx(20_000, 28, 5, "merchant_prep", out)
    return out


@pytest.fixture(scope="module")
def small_workspace(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("small") / "ws"
    generate_cx(3_000, 28, 5, "merchant_prep", out)
    return out


def test_outputs_have_ordinary_permissions(small_workspace, tmp_path, umask_022, capsys):
    assert mode(small_workspace) == 0o755 and mode(small_workspace / "truth.json") == 0o644
    out = tmp_path / "out"
    assert main(["analyze", str(small_workspace), "--out", str(out), "--recommend", "0"]) == 0
    assert main(["detect", str(small_workspace), "--out", str(tmp_path / "det")]) == 0
    files = [out / "incidents.json", out / "report.md", tmp_path / "det" / "regressions.json"]
    assert {f.name: mode(f) for f in files} == {f.name: 0o644 for f in files}
    write_atomically(tmp_path / "x.txt", "text")
    assert mode(tmp_path / "x.txt") == 0o644
    os.umask(0o077)
    write_atomically(tmp_path / "private.txt", b"bytes")
    assert mode(tmp_path / "private.txt") == 0o600  # the umask decides, as for any file
    assert hidden(tmp_path) == []


def test_a_write_killed_midway_leaves_nothing_after_the_next_write(tmp_path):
    target = tmp_path / "incidents.json"
    script = ("import os, signal, sys\nfrom pathlib import Path\nfrom data.atomic import make_temp_dir, temp_path\n"
              "target = Path(sys.argv[1])\ntemp_path(target).write_bytes(b'')\n"
              "(make_temp_dir(target.parent, 'cube') / 'cube.parquet').write_bytes(b'PAR1')\n"
              "os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", script, str(target)], env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == -signal.SIGKILL
    left = hidden(tmp_path)
    assert any(p.is_file() and p.stat().st_size == 0 for p in left) and any(p.is_dir() for p in left)
    write_atomically(target, "{}")
    assert hidden(tmp_path) == [] and target.read_text() == "{}"


def test_a_cube_build_killed_midway_leaves_nothing_after_the_next_build(cx_workspace, tmp_path):
    out = tmp_path / "cube"
    out.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "metrics", str(cx_workspace), "--out", str(out)],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not hidden(out):
        assert proc.poll() is None and time.monotonic() < deadline, "the build ended before it could be killed"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert hidden(out) and not (out / "cube.parquet").exists()  # killed while staging
    assert main(["metrics", str(cx_workspace), "--out", str(out)]) == 0
    assert hidden(out) == [] and (out / "cube.parquet").is_file()
