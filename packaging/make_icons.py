#!/usr/bin/env python3
"""Render the app icon from resources/traywidget.svg into every format the platforms want.

    python packaging/make_icons.py            # (re)write resources/icons/*.png, traywidget.ico, traywidget.icns
    python packaging/make_icons.py --check    # exit 1 if the committed files are stale (pixel compare)

The generated files are committed: neither the wheel nor the PyInstaller build needs this script.
It uses PySide6's QtSvg (part of PySide6-Essentials) and writes the ICO and ICNS containers itself
with `struct` (both simply wrap PNG images), so no Pillow is needed.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = ROOT / "resources"
SVG = RESOURCES / "traywidget.svg"
ICONS = RESOURCES / "icons"

PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS element types that hold PNG data, with their pixel size (the @2x types are the Retina ones).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic10", 1024),  # 512@2x
    (b"ic11", 32),  # 16@2x
    (b"ic12", 64),  # 32@2x
    (b"ic13", 256),  # 128@2x
    (b"ic14", 512),  # 256@2x
)


def _qt():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    return app, QBuffer, QByteArray, QIODevice, Qt, QImage, QPainter, QSvgRenderer


def render(svg: Path, size: int):
    """Render the SVG to a size x size premultiplied-ARGB QImage."""
    _app, _b, _ba, _io, Qt, QImage, QPainter, QSvgRenderer = _qt()
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"invalid SVG: {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    renderer.render(painter)
    painter.end()
    return image.convertToFormat(QImage.Format.Format_ARGB32)


def png_bytes(image) -> bytes:
    _app, QBuffer, QByteArray, QIODevice, *_ = _qt()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buf, "PNG"):
        raise SystemExit("PNG encoding failed")
    buf.close()
    return bytes(data.data())


def build_ico(pngs: dict[int, bytes]) -> bytes:
    """An ICO whose entries are PNG images (supported since Windows Vista)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, blobs = [], []
    for size in sizes:
        blob = pngs[size]
        dim = 0 if size >= 256 else size  # 0 means 256
        entries.append(struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset))
        blobs.append(blob)
        offset += len(blob)
    return header + b"".join(entries) + b"".join(blobs)


def build_icns(pngs: dict[int, bytes]) -> bytes:
    """An ICNS of PNG elements: 'icns' + total length, then (type, length incl. 8-byte header, data)."""
    body = b"".join(
        ostype + struct.pack(">I", 8 + len(pngs[size])) + pngs[size] for ostype, size in ICNS_TYPES
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def generate(svg: Path = SVG) -> dict[Path, bytes]:
    """Every generated file, path -> bytes (nothing written)."""
    wanted = set(PNG_SIZES) | set(ICO_SIZES) | {size for _t, size in ICNS_TYPES}
    pngs = {size: png_bytes(render(svg, size)) for size in sorted(wanted)}
    out: dict[Path, bytes] = {ICONS / f"traywidget-{s}.png": pngs[s] for s in PNG_SIZES}
    # The conventional name Qt and freedesktop icon themes look for, at a good size.
    out[RESOURCES / "traywidget.png"] = pngs[256]
    out[RESOURCES / "traywidget.ico"] = build_ico({s: pngs[s] for s in ICO_SIZES})
    out[RESOURCES / "traywidget.icns"] = build_icns(pngs)
    return out


def _pixels_close(a: bytes, b: bytes, tolerance: int = 3) -> bool:
    """Compare two PNGs by decoded pixels (encoder output may differ between Qt versions)."""
    _app, _b, _ba, _io, _Qt, QImage, *_ = _qt()
    ia, ib = QImage.fromData(a), QImage.fromData(b)
    if ia.isNull() or ib.isNull() or ia.size() != ib.size():
        return False
    ia = ia.convertToFormat(QImage.Format.Format_ARGB32)
    ib = ib.convertToFormat(QImage.Format.Format_ARGB32)
    ba, bb = bytes(ia.constBits()), bytes(ib.constBits())
    return all(abs(x - y) <= tolerance for x, y in zip(ba, bb))


def check(files: dict[Path, bytes]) -> list[str]:
    stale = []
    for path, data in files.items():
        if not path.exists():
            stale.append(f"missing: {path.relative_to(ROOT)}")
        elif path.suffix == ".png" and not _pixels_close(path.read_bytes(), data):
            stale.append(f"differs: {path.relative_to(ROOT)}")
        elif path.suffix in (".ico", ".icns") and len(path.read_bytes()) < 100:
            stale.append(f"truncated: {path.relative_to(ROOT)}")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify instead of writing")
    args = parser.parse_args(argv)
    files = generate()
    if args.check:
        stale = check(files)
        for line in stale:
            print(line)
        if stale:
            print("run: python packaging/make_icons.py")
        return 1 if stale else 0
    ICONS.mkdir(parents=True, exist_ok=True)
    for path, data in files.items():
        path.write_bytes(data)
        print(f"{path.relative_to(ROOT)}  {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
