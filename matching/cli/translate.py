"""``translate``: extract, update and compile the catalogues (pybabel, as microblog does)."""

import subprocess
import sys

from flask.cli import AppGroup

from matching.config import PROJECT_ROOT

translate_cli = AppGroup("translate", help="Extract, update and compile translations.")

_POT = PROJECT_ROOT / "translations" / "messages.pot"
_TRANSLATIONS = PROJECT_ROOT / "translations"


def _pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True,
                   cwd=PROJECT_ROOT)


@translate_cli.command("extract")
def translate_extract():
    """Extract messages from code and templates into translations/messages.pot."""
    # Nn_: the singular/plural markers of matching/web/form_messages.py.
    _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-k", "_lp:1c,2", "-k", "Nn_:1,2",
             "--sort-by-file", "--no-wrap", "--project", "matching", "-o", str(_POT), ".")


@translate_cli.command("update")
def translate_update():
    """Extract, then merge new messages into the vi and ja catalogues."""
    translate_extract.callback()
    _pybabel("update", "-i", str(_POT), "-d", str(_TRANSLATIONS), "--no-wrap",
             "--ignore-obsolete")


@translate_cli.command("compile")
def translate_compile():
    """Compile the catalogues to .mo files (done by make run / make test)."""
    _pybabel("compile", "-d", str(_TRANSLATIONS), "--statistics")
