"""Run photoindex as a per-user service: the systemd unit and launchd agent templates, and installing them."""

from photoindex.service_units.manage import ServiceManager, ServiceReport
from photoindex.service_units.render import (
    LAUNCHD_LABEL,
    SYSTEMD_UNIT_NAME,
    render_launchd_plist,
    render_systemd_unit,
    serve_command,
)

__all__ = [
    "LAUNCHD_LABEL",
    "SYSTEMD_UNIT_NAME",
    "ServiceManager",
    "ServiceReport",
    "render_launchd_plist",
    "render_systemd_unit",
    "serve_command",
]
