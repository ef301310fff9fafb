"""Rebuild Qt's ICU data library with only what traywidget can reach (called by traywidget.spec).

QtCore links ICU, whose data library (libicudata, 31 MB; 12 MB of the one-file binary) holds
collation, converters, break rules, transliteration and display names for ~900 locales. QtCore
calls ICU for exactly four things (its undefined symbols: u_strToUpper/Lower, ucal_*, ucnv_*,
ucol_*): case mapping (its data is built into libicuuc), time-zone ids and display names, legacy
codecs and QCollator. The app uses no QCollator, no legacy codec (all text is UTF-8; UTF codecs
are algorithmic and need no data) and no time-zone display name (Python's datetime does time).
So the rebuilt library keeps the root and the shipped languages' locale data (en, de, es, zh), the
time-zone rules, normalisation and IDNA data, the converter alias table and every other non-locale
resource; it drops converter tables, collation, break rules (Qt has its own), transliteration and
the display-name trees (currencies, zones, languages, regions, units, rbnf). Whatever Qt asks for
that is gone, ICU reports as missing data, which Qt treats as "not available" (a QCollator logs
"Could not create collator" and compares code points).

Needs ICU's `icupkg` and `genccode` (Debian/Ubuntu: icu-devtools) and a C compiler; without
them `trim` returns None and the spec keeps the full library (a bigger binary, nothing broken).

    python packaging/trim_icu.py LIBICUDATA OUT_DIR   # prints the trimmed library's path
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

KEEP_LANGUAGES = ("en", "de", "es", "zh")
DROP_TREES = ("brkitr/", "coll/", "curr/", "lang/", "rbnf/", "region/", "translit/", "unit/", "zone/")
_LOCALE_FILE = re.compile(r"^[a-z]{2,3}(_[A-Za-z0-9]+)*\.res$")


def keep(item: str) -> bool:
    """Whether an item of the ICU data package (a path below the package name) stays."""
    if item.startswith(DROP_TREES) or item.endswith(".cnv"):
        return False
    if "/" not in item and _LOCALE_FILE.match(item):
        language = item.split("_", 1)[0].removesuffix(".res")
        return language in KEEP_LANGUAGES
    return True


def _run(*cmd: str, cwd: Path) -> str:
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


def trim(library: Path, out_dir: Path) -> Path | None:
    tools = [shutil.which(t) for t in ("icupkg", "genccode", "objcopy", "cc")]
    if not all(tools):
        print(f"trim_icu: icupkg/genccode/objcopy/cc missing: keeping the full {library.name}")
        return None
    match = re.match(r"libicudata\.so\.(\d+)", library.name)
    if not match:
        return None
    version = match.group(1)
    package = f"icudt{version}l"  # little-endian data, as the .so embeds it
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="trim-icu-") as tmp:
        work = Path(tmp)
        # The library's .rodata is exactly the data package (symbol icudt<N>_dat).
        _run("objcopy", "-O", "binary", "--only-section=.rodata", str(library), f"{package}.dat", cwd=work)
        items = _run("icupkg", "-l", f"{package}.dat", cwd=work).split()
        kept = [item for item in items if keep(item)]
        (work / "dropped.txt").write_text("\n".join(i for i in items if not keep(i)) + "\n")
        (work / "trimmed").mkdir()
        _run("icupkg", "-r", "dropped.txt", f"{package}.dat", f"trimmed/{package}.dat", cwd=work)
        _run("genccode", "-a", "gcc", "-e", f"icudt{version}", "-d", ".", f"trimmed/{package}.dat", cwd=work)
        assembly = next(work.glob("*.S"))
        target = out_dir / library.name
        _run("cc", "-shared", "-nostdlib", "-Wl,-z,noexecstack", f"-Wl,-soname,{library.name}",
             "-o", str(target), str(assembly), cwd=work)
    print(f"trim_icu: {library.name} {library.stat().st_size / 2**20:.1f} MiB -> "
          f"{target.stat().st_size / 2**20:.1f} MiB ({len(kept)} of {len(items)} items)")
    return target


if __name__ == "__main__":
    result = trim(Path(sys.argv[1]), Path(sys.argv[2]))
    print(result or "")
