"""Read the shipped assets (package ``traywidget.resources``) through importlib.resources.

Works the same from a source checkout, an installed wheel, a zip and a PyInstaller bundle:
no ``sys._MEIPASS`` branches. No Qt here; the UI turns paths or bytes into QIcons itself.

    from traywidget.desktop import assets as res
    with res.icon_path(32) as p:        # a real file path for as long as the block runs
        QIcon(str(p))
    svg = res.read_bytes("traywidget.svg")
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

PACKAGE = "traywidget.resources"
ICON_SIZES: tuple[int, ...] = (16, 22, 24, 32, 48, 64, 128, 256, 512)
SVG_NAME = "traywidget.svg"
DESKTOP_NAME = "traywidget.desktop"
ICO_NAME = "traywidget.ico"
ICNS_NAME = "traywidget.icns"


def files() -> Traversable:
    """The root of the resources package."""
    return resources.files(PACKAGE)


def resource(name: str) -> Traversable:
    """A resource by relative name, e.g. ``"icons/traywidget-16.png"``."""
    node = files()
    for part in name.split("/"):
        if part in ("", ".", ".."):
            raise ValueError(f"bad resource name: {name!r}")
        node = node.joinpath(part)
    return node


def read_bytes(name: str) -> bytes:
    """The bytes of a resource; FileNotFoundError if it is not shipped."""
    return resource(name).read_bytes()


def read_text(name: str, encoding: str = "utf-8") -> str:
    return resource(name).read_text(encoding=encoding)


def exists(name: str) -> bool:
    try:
        return resource(name).is_file()
    except (OSError, ValueError):
        return False


def icon_name(size: int) -> str:
    """The resource name of the PNG icon nearest to ``size`` (the next larger one, else the largest)."""
    if size <= 0:
        raise ValueError(f"icon size must be positive, not {size}")
    best = next((s for s in ICON_SIZES if s >= size), ICON_SIZES[-1])
    return f"icons/traywidget-{best}.png"


@contextlib.contextmanager
def as_file(name: str) -> Iterator[Path]:
    """A real filesystem path to a resource, valid inside the ``with`` block."""
    with resources.as_file(resource(name)) as path:
        yield Path(path)


@contextlib.contextmanager
def icon_path(size: int) -> Iterator[Path]:
    """A real filesystem path to the PNG icon for ``size`` pixels, valid inside the ``with`` block."""
    with as_file(icon_name(size)) as path:
        yield path


def icon_pngs() -> dict[int, bytes]:
    """Every shipped PNG size, size -> bytes (for building a multi-size QIcon without files)."""
    return {size: read_bytes(f"icons/traywidget-{size}.png") for size in ICON_SIZES}
