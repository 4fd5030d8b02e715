"""Install, remove and inspect the per-user service: systemd on Linux, launchd on macOS, no root.

Each function returns what it did and what the user should know as lines of
text (the CLI prints them); the commands it runs go through ``run``, so
tests render into a temporary home and never touch the real service manager.
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from photoindex.service_units.render import (
    LAUNCHD_LABEL,
    SYSTEMD_UNIT_NAME,
    render_launchd_plist,
    render_systemd_unit,
)

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


@dataclass
class ServiceReport:
    """The outcome of a service command."""

    ok: bool
    manager: str  # systemd | launchd | none
    path: Path | None
    lines: list[str] = field(default_factory=list)
    ran: list[list[str]] = field(default_factory=list)


def default_runner(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=60)


@dataclass
class ServiceManager:
    """Where the service file lives and how to talk to the manager, for one user and platform."""

    platform: str = sys.platform
    home: Path = field(default_factory=Path.home)
    config_home: Path | None = None  # $XDG_CONFIG_HOME
    run: Runner = default_runner

    @property
    def manager(self) -> str:
        if self.platform.startswith("linux"):
            return "systemd"
        if self.platform == "darwin":
            return "launchd"
        return "none"

    @property
    def path(self) -> Path | None:
        if self.manager == "systemd":
            base = self.config_home or Path(os.environ.get("XDG_CONFIG_HOME") or self.home / ".config")
            return base / "systemd" / "user" / SYSTEMD_UNIT_NAME
        if self.manager == "launchd":
            return self.home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"
        return None

    @property
    def log_file(self) -> Path:
        return self.home / "Library" / "Logs" / "photoindex" / "photoindex.log"

    def render(self, command: list[str]) -> str:
        if self.manager == "systemd":
            return render_systemd_unit(command)
        if self.manager == "launchd":
            return render_launchd_plist(command, self.log_file)
        raise OSError(f"no per-user service manager is supported on {self.platform}; run `photoindex serve` yourself")

    # -- commands ----------------------------------------------------------------
    def install(self, command: list[str], *, start: bool = True) -> ServiceReport:
        """Write the unit (or agent) for ``command`` and, with ``start``, enable and start it."""
        report = ServiceReport(ok=True, manager=self.manager, path=self.path)
        if self.path is None:
            report.ok = False
            report.lines.append(f"no per-user service manager is supported on {self.platform}; run `photoindex serve`")
            return report
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.path, self.render(command))
        report.lines.append(f"wrote {self.path}")
        if self.manager == "systemd":
            self._systemctl(report, ["daemon-reload"])
            if start and report.ok:
                self._systemctl(report, ["enable", "--now", SYSTEMD_UNIT_NAME])
            if report.ok:
                report.lines.append("logs: journalctl --user -u photoindex -f;  state: photoindex status")
                report.lines += self._linger_advice()
        else:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            if start:
                domain = f"gui/{os.getuid()}"
                self._call(report, ["launchctl", "bootout", f"{domain}/{LAUNCHD_LABEL}"], check=False)
                self._call(report, ["launchctl", "bootstrap", domain, str(self.path)])
            report.lines.append(f"logs: {self.log_file};  state: photoindex status")
        return report

    def uninstall(self) -> ServiceReport:
        """Stop and disable the service and remove its file."""
        report = ServiceReport(ok=True, manager=self.manager, path=self.path)
        if self.path is None:
            report.ok = False
            report.lines.append(f"no per-user service manager is supported on {self.platform}")
            return report
        if self.manager == "systemd":
            self._systemctl(report, ["disable", "--now", SYSTEMD_UNIT_NAME], check=False)
        else:
            self._call(report, ["launchctl", "bootout", f"gui/{os.getuid()}/{LAUNCHD_LABEL}"], check=False)
        if self.path.exists():
            self.path.unlink()
            report.lines.append(f"removed {self.path}")
        else:
            report.lines.append(f"{self.path} was not installed")
        if self.manager == "systemd":
            self._systemctl(report, ["daemon-reload"], check=False)
        report.ok = True
        return report

    def status(self) -> ServiceReport:
        """Whether the service file is installed, and what the manager says about it."""
        report = ServiceReport(ok=True, manager=self.manager, path=self.path)
        if self.path is None:
            report.ok = False
            report.lines.append(f"no per-user service manager is supported on {self.platform}")
            return report
        installed = self.path.exists()
        report.lines.append(f"{'installed' if installed else 'not installed'}: {self.path}")
        if not installed:
            report.ok = False
            return report
        if self.manager == "systemd":
            self._systemctl(report, ["status", "--no-pager", "--lines=5", SYSTEMD_UNIT_NAME], check=False, echo=True)
        else:
            self._call(report, ["launchctl", "print", f"gui/{os.getuid()}/{LAUNCHD_LABEL}"], check=False, echo=True)
        return report

    # -- helpers -------------------------------------------------------------------
    def _systemctl(self, report: ServiceReport, args: list[str], *, check: bool = True, echo: bool = False) -> None:
        self._call(report, ["systemctl", "--user", *args], check=check, echo=echo)

    def _call(self, report: ServiceReport, argv: list[str], *, check: bool = True, echo: bool = False) -> None:
        report.ran.append(argv)
        try:
            done = self.run(argv)
        except (OSError, subprocess.SubprocessError) as exc:
            if check:
                report.ok = False
                report.lines.append(f"could not run {' '.join(argv)}: {exc}")
            return
        output = (done.stdout or "") + (done.stderr or "")
        if echo and output.strip():
            report.lines += output.rstrip().splitlines()
        if done.returncode != 0 and check:
            report.ok = False
            report.lines.append(f"`{' '.join(argv)}` failed: {output.strip() or f'exit code {done.returncode}'}")
            if "bus" in output.lower():
                report.lines.append(
                    "no systemd user session here (SSH or a container?): log in graphically or via "
                    "`machinectl shell $USER@`, or run `photoindex serve` under another supervisor"
                )

    def _linger_advice(self) -> list[str]:
        user = getpass.getuser()
        if shutil.which("loginctl") is None:
            return []
        try:
            done = self.run(["loginctl", "show-user", user, "--property=Linger"])
        except (OSError, subprocess.SubprocessError):
            return []
        if "Linger=yes" in (done.stdout or ""):
            return []
        return [
            "photoindex runs while you are logged in; to keep it running after you log out (and start it at boot):",
            f"  loginctl enable-linger {user}",
        ]


def _write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


__all__ = ["ServiceManager", "ServiceReport"]
