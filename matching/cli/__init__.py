"""The ``flask --app matching`` command groups (DESIGN §4), one module per group.

A command that writes commits once, at its end (STYLE 4): the operations it calls only
flush, so a command that stops with an error leaves nothing behind.
"""

from matching.cli.accounts import orgs_cli, users_cli
from matching.cli.background import jobs_cli
from matching.cli.demo import demo_cli
from matching.cli.documents import documents_cli
from matching.cli.fees import fees_cli
from matching.cli.imports import import_cli
from matching.cli.ranking import model_cli, rank_command
from matching.cli.skills import skills_cli
from matching.cli.tokens import tokens_cli
from matching.cli.translate import translate_cli


def register(app) -> None:
    """Add every command group to ``app.cli``."""
    for group in (users_cli, orgs_cli, import_cli, demo_cli, translate_cli, model_cli,
                  documents_cli, skills_cli, jobs_cli, tokens_cli, fees_cli):
        app.cli.add_command(group)
    app.cli.add_command(rank_command)
