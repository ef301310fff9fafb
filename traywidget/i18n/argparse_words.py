"""argparse's own words ("usage:", "options", "error: unrecognized arguments") in the user's language.

argparse translates them with `gettext.gettext` in the process-wide default
domain, which holds no traywidget catalog: left alone, a German --help keeps
English headings around German help texts. `speak_argparse()` points
argparse's two translation functions at traywidget's catalog; the msgids below
are argparse's own (Python 3.11 to 3.13), so the extraction puts them into
traywidget's .po files like any other text.
"""

from __future__ import annotations

import argparse

from traywidget.i18n import tr, tr_noop, trn, trn_noop

ARGPARSE_WORDS = (
    tr_noop("usage: "),
    tr_noop("positional arguments"),
    tr_noop("options"),
    tr_noop("show this help message and exit"),
    tr_noop("show program's version number and exit"),
    tr_noop("%(prog)s: error: %(message)s\n"),
    tr_noop("unrecognized arguments: %s"),
    tr_noop("the following arguments are required: %s"),
    tr_noop("invalid choice: %(value)r (choose from %(choices)s)"),
    tr_noop("argument %(argument_name)s: %(message)s"),
    tr_noop("invalid %(type)s value: %(value)r"),
    tr_noop("expected one argument"),
    tr_noop("expected at most one argument"),
    tr_noop("expected at least one argument"),
    tr_noop("not allowed with argument %s"),
    tr_noop("one of the arguments %s is required"),
    tr_noop("ambiguous option: %(option)s could match %(matches)s"),
    tr_noop("ignored explicit argument %r"),
    trn_noop("expected %s argument", "expected %s arguments"),
)


def speak_argparse() -> None:
    """From now on argparse says its own words through traywidget's catalog (call before building a parser:
    the headings are translated when the parser is made)."""
    # argparse looks both names up in its module at each call (`from gettext import gettext as _, ngettext`).
    argparse._ = tr  # type: ignore[attr-defined]  # argparse's module-level translation function
    argparse.ngettext = trn  # type: ignore[attr-defined]  # likewise, for plurals
