"""Render the service templates (package data) with this interpreter and this config file.

The unit runs ``<python> -m photoindex [--config FILE] serve`` with the
interpreter that installed it (``sys.executable``: the virtual environment's
python when there is one), so the service uses exactly the photoindex the
user ran ``service install`` with.
"""

from __future__ import annotations

import sys
from importlib.resources import files
from pathlib import Path
from string import Template
from xml.sax.saxutils import escape

SYSTEMD_UNIT_NAME = "photoindex.service"
LAUNCHD_LABEL = "photoindex"

_SYSTEMD_SPECIAL = set(" \t\"'\\;$%")


def serve_command(config: Path | None, *, python: str | None = None) -> list[str]:
    """The daemon's command line: this interpreter, the package, the config file when there is one."""
    argv = [python or sys.executable, "-m", "photoindex"]
    if config is not None:
        argv += ["--config", str(config)]
    return [*argv, "serve"]


def render_systemd_unit(command: list[str]) -> str:
    """The systemd user unit (``Type=notify``, normal priority, restart on failure, journal logging)."""
    template = Template(_template("photoindex.service"))
    return template.substitute(exec_start=" ".join(_systemd_word(arg) for arg in command))


def render_launchd_plist(command: list[str], log_file: Path, *, label: str = LAUNCHD_LABEL) -> str:
    """The launchd agent (RunAtLoad, KeepAlive, ProcessType Standard, logs in ~/Library/Logs)."""
    arguments = "\n".join(f"        <string>{escape(arg)}</string>" for arg in command)
    template = Template(_template("photoindex.plist"))
    return template.substitute(label=escape(label), program_arguments=arguments, log_file=escape(str(log_file)))


def _template(name: str) -> str:
    return files("photoindex.service_units").joinpath(name).read_text(encoding="utf-8")


def _systemd_word(arg: str) -> str:
    """One ExecStart argument: ``%`` and ``$`` escaped (specifiers, variables), quoted if needed."""
    escaped = arg.replace("%", "%%").replace("$", "$$")
    if not escaped or any(c in _SYSTEMD_SPECIAL for c in arg):
        return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return escaped


__all__ = ["LAUNCHD_LABEL", "SYSTEMD_UNIT_NAME", "render_launchd_plist", "render_systemd_unit", "serve_command"]
