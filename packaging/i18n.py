"""Translation catalogs: extract the msgids from the source, merge them into each language, compile, check.

    python packaging/i18n.py extract   # traywidget/locale/traywidget.pot from every tr()/trn()/... in traywidget/
    python packaging/i18n.py update    # merge the template into each <lang>/LC_MESSAGES/traywidget.po
    python packaging/i18n.py compile   # each .po -> its .mo (byte for byte reproducible)
    python packaging/i18n.py check     # the template, every .po and every .mo up to date and complete
    python packaging/i18n.py new LANG  # start a catalog for another language (see docs/translating.md)
    python packaging/i18n.py extract update compile check   # several steps, in this order

Pure Python (the ast module and a compact msgfmt): no gettext tools needed. The extraction reads
calls the way `xgettext -k` does: the literal arguments of the KEYWORDS below.
"""

from __future__ import annotations

import argparse
import ast
import re
import string
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "traywidget"
LOCALE = SOURCE / "locale"
DOMAIN = "traywidget"
TEMPLATE = LOCALE / f"{DOMAIN}.pot"

# name -> the positions (0-based) of its msgid and msgid_plural arguments.
KEYWORDS: dict[str, tuple[int, ...]] = {
    "tr": (0,),
    "tr_noop": (0,),
    "trn": (0, 1),
    "trn_noop": (0, 1),
    "Phrase": (0,),  # traywidget.i18n.Phrase: text made below the views, translated where shown
    "malformed": (0,),  # traywidget.providers.decoding.malformed: what a bad response lacks
}
# Where a formatted string is a mistake (elsewhere, e.g. malformed(f"... {name!r}"), it is an internal
# detail left in English).
TRANSLATING = {"tr", "tr_noop", "trn", "trn_noop", "Phrase"}
PLURAL_FORMS = {
    "de": "nplurals=2; plural=(n != 1);",
    "es": "nplurals=2; plural=(n != 1);",
    "zh_CN": "nplurals=1; plural=0;",
}
LANGUAGE_NAMES = {"de": "German", "es": "Spanish", "zh_CN": "Chinese (Simplified)"}


# ------------------------------------------------------------------------------------ entries
@dataclass
class Entry:
    msgid: str
    plural: str | None = None
    msgstr: list[str] = field(default_factory=lambda: [""])
    references: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    comments: list[str] = field(default_factory=list)  # translator comments ("# ...")

    @property
    def key(self) -> tuple[str, str | None]:
        return self.msgid, self.plural


def placeholders(text: str) -> set[str]:
    """The replacement fields of a str.format template, as written: {n}, {id!r}, {value:,}."""
    fields = set()
    try:
        for _literal, name, spec, conversion in string.Formatter().parse(text):
            if name is not None:
                fields.add("{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}")
    except ValueError:
        fields.add("<unbalanced braces>")
    return fields


# ------------------------------------------------------------------------------------ extract
@dataclass
class Problem:
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def _literal(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _callee(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def extract(source: Path | None = None) -> tuple[list[Entry], list[Problem]]:
    """Every msgid in the package, in order of first appearance, and the calls that cannot be extracted
    (a formatted string handed to tr(): it must be translated first and formatted after)."""
    source = source or SOURCE
    entries: dict[tuple[str, str | None], Entry] = {}
    first_seen: dict[tuple[str, str | None], tuple[str, int]] = {}
    problems: list[Problem] = []
    for path in sorted(source.rglob("*.py")):
        relative = path.relative_to(source.parent).as_posix()
        tree = ast.parse(path.read_text("utf-8"), relative)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _callee(node)
            positions = KEYWORDS.get(name or "")
            if positions is None or len(node.args) <= max(positions):
                continue
            where = f"{relative}:{node.lineno}"
            args = [node.args[i] for i in positions]
            texts = [_literal(arg) for arg in args]
            formatted = any(isinstance(arg, ast.JoinedStr) or _is_format_call(arg) for arg in args)
            if formatted and name in TRANSLATING:
                problems.append(Problem(where, f"{name}() of a formatted string: translate the template, "
                                               "then .format() it"))
                continue
            if any(text is None for text in texts) or not texts[0]:
                continue  # a variable: its msgid is marked where it is defined
            key = (texts[0], texts[1] if len(texts) > 1 else None)
            entry = entries.setdefault(key, Entry(key[0], key[1], ["", ""] if key[1] is not None else [""]))
            entry.references.append(where)
            first_seen.setdefault(key, (relative, node.lineno))
            if placeholders(key[0]) or (key[1] and placeholders(key[1])):
                entry.flags.add("python-brace-format")
    for entry in entries.values():
        # Files only, no line numbers: an edit elsewhere in a file must not change every catalog.
        entry.references = sorted({reference.rpartition(":")[0] for reference in entry.references})
    return sorted(entries.values(), key=lambda entry: first_seen[entry.key]), problems


def _is_format_call(node: ast.expr) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format") or (
        isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod))


# ------------------------------------------------------------------------------------ .po files
def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\r", "\\r")
    return '"' + escaped.replace("\n", "\\n") + '"'


def _po_string(keyword: str, text: str, width: int = 78) -> list[str]:
    """`keyword "text"`, split into lines after spaces and newlines when long (as msgcat does)."""
    if len(keyword) + len(text) + 3 <= width and "\n" not in text[:-1]:
        return [f"{keyword} {_quote(text)}"]
    pieces: list[str] = []
    for line in re.findall(r"[^\n]*\n|[^\n]+", text):
        current = ""
        for word in re.findall(r"\S*\s*", line):
            if current and len(_quote(current + word)) > width:
                pieces.append(current)
                current = ""
            current += word
        if current:
            pieces.append(current)
    return [f'{keyword} ""'] + [_quote(piece) for piece in pieces]


def format_po(entries: list[Entry], header: dict[str, str], title: str) -> str:
    out = [f"# {title}", "#", 'msgid ""', 'msgstr ""']
    out += [_quote(f"{name}: {value}\n") for name, value in header.items()]
    for entry in entries:
        out.append("")
        out += [f"# {comment}" if comment else "#" for comment in entry.comments]
        out += [f"#: {reference}" for reference in entry.references]
        if entry.flags:
            out.append("#, " + ", ".join(sorted(entry.flags)))
        out += _po_string("msgid", entry.msgid)
        if entry.plural is None:
            out += _po_string("msgstr", entry.msgstr[0])
        else:
            out += _po_string("msgid_plural", entry.plural)
            out += [line for i, text in enumerate(entry.msgstr) for line in _po_string(f"msgstr[{i}]", text)]
    return "\n".join(out) + "\n"


def _unquote(token: str, where: str) -> str:
    if len(token) < 2 or token[0] != '"' or token[-1] != '"':
        raise ValueError(f"{where}: expected a quoted string, got {token!r}")
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)), token[1:-1])


def parse_po(text: str, name: str = "<po>") -> tuple[dict[str, str], list[Entry]]:
    """(header fields, entries) of a .po file. Obsolete (#~) entries are dropped."""
    entries: list[Entry] = []
    current: Entry | None = None
    comments: list[str] = []
    references: list[str] = []
    flags: set[str] = set()
    target: tuple[str, int] | None = None  # which field continuation lines extend
    fields: dict[tuple[str, int], str] = {}

    def finish() -> None:
        nonlocal current, fields
        if "msgid" in {k for k, _ in fields}:
            msgid = fields.get(("msgid", 0), "")
            plural = fields.get(("msgid_plural", 0))
            count = max([i for (k, i) in fields if k == "msgstr"] or [0]) + 1
            msgstr = [fields.get(("msgstr", i), "") for i in range(count)]
            entries.append(Entry(msgid, plural, msgstr, references[:], set(flags), comments[:]))
        fields = {}
        comments.clear()
        references.clear()
        flags.clear()

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        where = f"{name}:{number}"
        if not line:
            continue
        if line.startswith("#"):
            if fields:
                finish()
                target = None
            if line.startswith("#~"):
                continue
            if line.startswith("#:"):
                references.extend(line[2:].split())
            elif line.startswith("#,"):
                flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
            elif line.startswith(("#.", "#|")):
                pass
            else:
                comments.append(line[1:].strip())
            continue
        if line.startswith('"'):
            if target is None:
                raise ValueError(f"{where}: a string continues nothing")
            fields[target] += _unquote(line, where)
            continue
        match = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(.*)$", line)
        if match is None:
            raise ValueError(f"{where}: cannot read {line!r}")
        keyword, index, rest = match.group(1), int(match.group(2) or 0), match.group(3)
        if keyword == "msgctxt":
            raise ValueError(f"{where}: msgctxt is not used by traywidget")
        if keyword == "msgid" and fields:
            finish()
        target = (keyword, index)
        fields[target] = _unquote(rest, where)
    if fields:
        finish()
    header: dict[str, str] = {}
    if entries and entries[0].msgid == "":
        for line in entries.pop(0).msgstr[0].splitlines():
            name_, _, value = line.partition(":")
            if name_.strip():
                header[name_.strip()] = value.strip()
    return header, entries


def nplurals(header: dict[str, str]) -> int:
    match = re.search(r"nplurals\s*=\s*(\d+)", header.get("Plural-Forms", ""))
    return int(match.group(1)) if match else 2


# ------------------------------------------------------------------------------------ .mo files
def compile_mo(header: dict[str, str], entries: list[Entry]) -> bytes:
    """The GNU .mo of a catalog: translated, non-fuzzy entries only, keys sorted, no hash table."""
    catalog = {b"": "".join(f"{k}: {v}\n" for k, v in header.items()).encode("utf-8")}
    for entry in entries:
        if "fuzzy" in entry.flags or not all(entry.msgstr):
            continue
        if entry.plural is None:
            catalog[entry.msgid.encode("utf-8")] = entry.msgstr[0].encode("utf-8")
        else:
            key = (entry.msgid + "\0" + entry.plural).encode("utf-8")
            catalog[key] = "\0".join(entry.msgstr).encode("utf-8")
    keys = sorted(catalog)
    ids = b"".join(key + b"\0" for key in keys)
    strs = b"".join(catalog[key] + b"\0" for key in keys)
    count = len(keys)
    ids_start = 7 * 4 + 16 * count
    strs_start = ids_start + len(ids)
    offsets: list[int] = []
    id_offset = str_offset = 0
    id_table, str_table = [], []
    for key in keys:
        id_table += [len(key), ids_start + id_offset]
        str_table += [len(catalog[key]), strs_start + str_offset]
        id_offset += len(key) + 1
        str_offset += len(catalog[key]) + 1
    offsets = id_table + str_table
    head = struct.pack("<7I", 0x950412DE, 0, count, 7 * 4, 7 * 4 + 8 * count, 0, 0)
    return head + struct.pack(f"<{len(offsets)}I", *offsets) + ids + strs


# ------------------------------------------------------------------------------------ catalogs
def languages(locale: Path | None = None) -> list[str]:
    locale = locale or LOCALE
    return sorted(p.parent.parent.name for p in locale.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def po_path(language: str, locale: Path | None = None) -> Path:
    locale = locale or LOCALE
    return locale / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def template_text(entries: list[Entry]) -> str:
    header = {
        "Project-Id-Version": DOMAIN,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
    }
    blank = [Entry(e.msgid, e.plural, ["", ""] if e.plural is not None else [""], e.references, e.flags)
             for e in entries]
    return format_po(blank, header, "The msgids of traywidget. Made by `python packaging/i18n.py extract`.")


def merged(template: list[Entry], header: dict[str, str], old: list[Entry], language: str) -> str:
    """The catalog of `language` for `template`: translations kept where the msgid stayed, new msgids empty."""
    known = {entry.key: entry for entry in old}
    forms = nplurals(header)
    out = []
    for entry in template:
        previous = known.get(entry.key)
        if entry.plural is None:
            msgstr = previous.msgstr[:1] if previous else [""]
        else:
            msgstr = (previous.msgstr if previous else []) + [""] * forms
            msgstr = msgstr[:forms]
        flags = set(entry.flags) | ({"fuzzy"} & previous.flags if previous else set())
        out.append(Entry(entry.msgid, entry.plural, msgstr, entry.references, flags,
                         previous.comments if previous else []))
    return format_po(out, header, f"{LANGUAGE_NAMES.get(language, language)} translation of traywidget.")


def po_header(language: str, plural_forms: str | None = None) -> dict[str, str]:
    return {
        "Project-Id-Version": DOMAIN,
        "Language": language,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "Plural-Forms": plural_forms or PLURAL_FORMS.get(language, "nplurals=2; plural=(n != 1);"),
    }


def check(source: Path | None = None, locale: Path | None = None) -> list[Problem]:
    """Everything that is not as `extract`, `update` and `compile` would leave it, and every gap in a catalog."""
    locale = locale or LOCALE
    entries, problems = extract(source)
    template = locale / f"{DOMAIN}.pot"
    listed = {e.key for e in parse_po(template.read_text("utf-8"))[1]} if template.is_file() else set()
    if listed != {entry.key for entry in entries}:
        problems.append(Problem(str(template.relative_to(ROOT)), "out of date: run `packaging/i18n.py extract`"))
    wanted = {entry.key: entry for entry in entries}
    for language in languages(locale):
        po = po_path(language, locale)
        where = str(po.relative_to(ROOT))
        header, catalog = parse_po(po.read_text("utf-8"), where)
        problems += catalog_problems(wanted, header, catalog, where)
        mo = po.with_suffix(".mo")
        if not mo.is_file() or mo.read_bytes() != compile_mo(header, catalog):
            problems.append(Problem(str(mo.relative_to(ROOT)),
                                    "not compiled from its .po: run `packaging/i18n.py compile`"))
    return problems


def catalog_problems(wanted: dict, header: dict[str, str], catalog: list[Entry], where: str) -> list[Problem]:
    problems = []
    forms = nplurals(header)
    have = {entry.key: entry for entry in catalog}
    for key in wanted:
        entry = have.get(key)
        label = repr(key[0][:60])
        if entry is None:
            problems.append(Problem(where, f"missing {label}: run `packaging/i18n.py update`"))
            continue
        if "fuzzy" in entry.flags:
            problems.append(Problem(where, f"fuzzy {label}"))
        expected = 1 if key[1] is None else forms
        if len(entry.msgstr) != expected or not all(text.strip() for text in entry.msgstr):
            problems.append(Problem(where, f"untranslated {label}"))
            continue
        fields = placeholders(key[0]) | (placeholders(key[1]) if key[1] else set())
        for text in entry.msgstr:
            if placeholders(text) != fields:
                problems.append(Problem(where, f"placeholders of {label}: {sorted(placeholders(text))} "
                                               f"instead of {sorted(fields)}"))
    return problems


def obsolete(wanted: dict, catalog: list[Entry]) -> list[str]:
    """msgids the source no longer has (harmless; `update` drops them)."""
    return [entry.msgid for entry in catalog if entry.key not in wanted]


# ------------------------------------------------------------------------------------ commands
STEPS = ("extract", "update", "compile", "check")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["new"]:
        parser = argparse.ArgumentParser(prog="packaging/i18n.py new", description="start a catalog")
        parser.add_argument("language", help="a gettext language code: fr, pt_BR, ja")
        parser.add_argument("--plural-forms", help='its gettext Plural-Forms, e.g. "nplurals=1; plural=0;" for '
                                                   "Japanese (default: two forms, n != 1)")
        args = parser.parse_args(argv[1:])
        return new_catalog(args.language, args.plural_forms)
    parser = argparse.ArgumentParser(prog="packaging/i18n.py", description=__doc__.split("\n\n")[0],
                                     epilog="Steps run in the order given: `update compile check`.")
    parser.add_argument("steps", nargs="+", choices=STEPS, metavar="{extract,update,compile,check} | new LANG")
    for step in parser.parse_args(argv).steps:
        code = run_step(step)
        if code:
            return code
    return 0


def run_step(step: str) -> int:
    entries, problems = extract()
    if step == "check":
        problems = check()
        for problem in problems:
            print(problem, file=sys.stderr)
        wanted = {entry.key: entry for entry in entries}
        for language in languages():
            old = obsolete(wanted, parse_po(po_path(language).read_text("utf-8"))[1])
            if old:
                print(f"{language}: {len(old)} obsolete msgid(s), dropped by `update`")
        print(f"{len(problems)} problem(s)" if problems else "catalogs complete and up to date")
        return 1 if problems else 0
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    if step == "extract":
        TEMPLATE.write_text(template_text(entries), "utf-8")
        print(f"{TEMPLATE.relative_to(ROOT)}: {len(entries)} msgids")
    elif step == "update":
        for language in languages():
            po = po_path(language)
            header, old = parse_po(po.read_text("utf-8"), str(po))
            po.write_text(merged(entries, header, old, language), "utf-8")
            _, new_entries = parse_po(po.read_text("utf-8"))
            todo = sum(1 for entry in new_entries if not all(entry.msgstr))
            print(f"{po.relative_to(ROOT)}: {len(new_entries)} msgids, {todo} untranslated")
    elif step == "compile":
        for language in languages():
            po = po_path(language)
            header, catalog = parse_po(po.read_text("utf-8"), str(po))
            po.with_suffix(".mo").write_bytes(compile_mo(header, catalog))
            print(f"{po.with_suffix('.mo').relative_to(ROOT)}")
    return 0


def new_catalog(language: str, plural_forms: str | None) -> int:
    entries, problems = extract()
    po = po_path(language)
    if problems or po.exists():
        print("\n".join(map(str, problems)) or f"{po.relative_to(ROOT)} exists already", file=sys.stderr)
        return 1
    po.parent.mkdir(parents=True)
    po.write_text(merged(entries, po_header(language, plural_forms), [], language), "utf-8")
    print(f"{po.relative_to(ROOT)}: {len(entries)} msgids to translate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
