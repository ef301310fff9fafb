"""The shipped assets: icons in every size (fresh from the SVG), valid ICO/ICNS containers, the
.desktop file, the importlib.resources helper, and a wheel that really contains them."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from traywidget.desktop import assets as res

ROOT = Path(__file__).resolve().parents[2]
PNG_SIG = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIG, "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("size", res.ICON_SIZES)
def test_png_icon_sizes(size: int) -> None:
    data = res.read_bytes(f"icons/traywidget-{size}.png")
    assert png_size(data) == (size, size)
    assert data[25] == 6, "colour type must be RGBA (transparent corners)"


def test_ico_container() -> None:
    data = res.read_bytes(res.ICO_NAME)
    reserved, kind, count = struct.unpack_from("<HHH", data, 0)
    assert (reserved, kind) == (0, 1) and count >= 6
    seen = set()
    for i in range(count):
        w, h, colors, _r, planes, bpp, length, offset = struct.unpack_from("<BBBBHHII", data, 6 + 16 * i)
        size = w or 256
        assert (w, h, colors, planes, bpp) == (w, h, 0, 1, 32) and w == h
        blob = data[offset:offset + length]
        assert len(blob) == length and png_size(blob) == (size, size)
        seen.add(size)
    assert {16, 32, 48, 256} <= seen


def test_icns_container() -> None:
    data = res.read_bytes(res.ICNS_NAME)
    assert data[:4] == b"icns" and struct.unpack(">I", data[4:8])[0] == len(data)
    expected = {b"icp4": 16, b"icp5": 32, b"icp6": 64, b"ic07": 128, b"ic08": 256, b"ic09": 512,
                b"ic10": 1024, b"ic11": 32, b"ic12": 64, b"ic13": 256, b"ic14": 512}
    found = {}
    pos = 8
    while pos < len(data):
        ostype, length = data[pos:pos + 4], struct.unpack(">I", data[pos + 4:pos + 8])[0]
        assert length > 8
        found[ostype] = png_size(data[pos + 8:pos + length])[0]
        pos += length
    assert pos == len(data)
    assert found == expected


def test_desktop_file() -> None:
    text = res.read_text(res.DESKTOP_NAME)
    lines = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    assert text.startswith("[Desktop Entry]\n")
    assert lines["Name"] == "Traywidget"
    assert lines["Exec"] == "traywidget-gui"
    assert lines["Icon"] == "traywidget"
    assert lines["Type"] == "Application"
    assert lines["Categories"] == "Utility;Network;"
    assert lines["Terminal"] == "false"


@pytest.mark.slow
def test_desktop_file_validates() -> None:
    if shutil.which("desktop-file-validate") is None:
        pytest.skip("desktop-file-validate not installed (apt-get install desktop-file-utils)")
    with res.as_file(res.DESKTOP_NAME) as path:
        proc = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and "error" not in proc.stdout, proc.stdout


def test_svg_is_the_source() -> None:
    svg = res.read_text(res.SVG_NAME)
    assert svg.lstrip().startswith("<?xml") and 'viewBox="0 0 256 256"' in svg


def test_icon_name_picks_the_next_size_up() -> None:
    assert res.icon_name(16) == "icons/traywidget-16.png"
    assert res.icon_name(20) == "icons/traywidget-22.png"
    assert res.icon_name(33) == "icons/traywidget-48.png"
    assert res.icon_name(4096) == "icons/traywidget-512.png"
    with pytest.raises(ValueError):
        res.icon_name(0)
    with pytest.raises(ValueError):
        res.resource("../pyproject.toml")


def test_icon_path_is_a_real_file() -> None:
    with res.icon_path(32) as path:
        assert path.is_file() and png_size(path.read_bytes()) == (32, 32)
    assert set(res.icon_pngs()) == set(res.ICON_SIZES)
    assert res.exists("traywidget.svg") and not res.exists("nope.png")
    with pytest.raises(FileNotFoundError):
        res.read_bytes("nope.png")


@pytest.mark.slow
def test_generated_icons_are_fresh() -> None:
    """The committed PNG/ICO/ICNS match what packaging/make_icons.py renders from the SVG now."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, str(ROOT / "packaging" / "make_icons.py"), "--check"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_wheel_ships_the_resources(tmp_path: Path) -> None:
    """A wheel built from the checkout carries resources/ as traywidget.resources."""
    out = tmp_path / "wheel"
    src = tmp_path / "src"
    # Build from a copy so the checkout gets no build/ or egg-info droppings.
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "shots", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis"))
    # Without `wheel` in this venv, let pip fetch the build backend pyproject.toml asks for.
    try:
        import wheel

        isolation = ["--no-build-isolation"]
    except ImportError:
        isolation = []
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q", "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = out.glob("traywidget-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ["traywidget/resources/__init__.py", "traywidget/resources/traywidget.svg",
                 "traywidget/resources/traywidget.desktop", "traywidget/resources/traywidget.ico",
                 "traywidget/resources/traywidget.icns", "traywidget/resources/traywidget.png",
                 "traywidget/desktop/autostart.py", "traywidget/desktop/doctor.py", "traywidget/desktop/assets.py",
                 "traywidget/i18n/__init__.py", "traywidget/locale/traywidget.pot",
                 *(f"traywidget/locale/{lang}/LC_MESSAGES/traywidget.{ext}"
                   for lang in ("de", "es", "zh_CN") for ext in ("po", "mo"))]:
        assert name in names, name
    for size in res.ICON_SIZES:
        assert f"traywidget/resources/icons/traywidget-{size}.png" in names
    assert not any(n.startswith(("packaging/", "tests/")) for n in names)
