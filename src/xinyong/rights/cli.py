"""``xinyong rights``: the platform's side of subjects' rights, run by the operator."""

import typer

from xinyong.rights.cases_cli import overdue_command
from xinyong.rights.expiry_cli import expire_command
from xinyong.rights.notices_cli import contact_command, notify_command

app = typer.Typer(
    help="Subjects' rights: notices, expiry, objection and repair deadlines.",
    no_args_is_help=True,
)
app.command("notify")(notify_command)
app.command("contact")(contact_command)
app.command("expire")(expire_command)
app.command("overdue")(overdue_command)
