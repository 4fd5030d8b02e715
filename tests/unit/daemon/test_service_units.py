"""The service templates, rendered with this interpreter: systemd-analyze and plistlib accept them."""

from __future__ import annotations

import configparser
import os
import plistlib
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from photoindex.service_units import ServiceManager, render_launchd_plist, render_systemd_unit, serve_command

CONFIG = Path("/home/someone/My Photos/config 100%.toml")


# Keys that lower a whole service's priority: the daemon answers searches, so none may be set.
# It lowers its own indexing work instead (tests/e2e/test_daemon_queries.py reads the nice values).
SYSTEMD_PRIORITY_KEYS = ("Nice", "CPUSchedulingPolicy", "CPUSchedulingPriority", "IOSchedulingClass", "CPUWeight")
LAUNCHD_PRIORITY_KEYS = ("Nice", "LowPriorityIO", "LowPriorityBackgroundIO")


def test_systemd_unit_has_notify_watchdog_restart_and_normal_priority() -> None:
    unit = render_systemd_unit(serve_command(CONFIG))
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read_string(unit)
    service = parser["Service"]
    assert service["Type"] == "notify" and service["Restart"] == "on-failure" and int(service["WatchdogSec"]) > 0
    assert [key for key in SYSTEMD_PRIORITY_KEYS if key in service] == []
    assert service["StandardOutput"] == "journal"
    assert service["ExecStart"] == f'{sys.executable} -m photoindex --config "{str(CONFIG).replace("%", "%%")}" serve'
    assert parser["Install"]["WantedBy"] == "default.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_analyze_verifies_the_unit_without_a_warning(tmp_path: Path) -> None:
    unit = tmp_path / "photoindex.service"
    unit.write_text(render_systemd_unit(serve_command(tmp_path / "config.toml")), encoding="utf-8")
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    done = subprocess.run(
        ["systemd-analyze", "--user", "verify", str(unit)],
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "" and done.stdout.strip() == ""


def test_launchd_plist_parses_with_the_agent_keys(tmp_path: Path) -> None:
    command = serve_command(CONFIG, python="/opt/py <3>/bin/python3")
    data = plistlib.loads(render_launchd_plist(command, tmp_path / "Library/Logs/photoindex/photoindex.log").encode())
    assert data["ProgramArguments"] == ["/opt/py <3>/bin/python3", "-m", "photoindex", "--config", str(CONFIG), "serve"]
    assert data["RunAtLoad"] is True and data["KeepAlive"] == {"SuccessfulExit": False}
    # Background (and Adaptive, for an agent without XPC) would throttle the CPU and disk of searches.
    assert data["ProcessType"] == "Standard"
    assert [key for key in LAUNCHD_PRIORITY_KEYS if key in data] == []
    assert data["StandardOutPath"].endswith("Library/Logs/photoindex/photoindex.log")


class Recorder:
    """Stands in for systemctl/loginctl: records the command lines and answers like a happy manager."""

    def __init__(self, linger: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.linger = linger

    def __call__(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(argv))
        out = f"Linger={'yes' if self.linger else 'no'}\n" if argv[0] == "loginctl" else ""
        return subprocess.CompletedProcess(list(argv), 0, stdout=out, stderr="")


def test_install_writes_the_user_unit_enables_it_and_explains_linger(tmp_path: Path) -> None:
    recorder = Recorder()
    manager = ServiceManager(platform="linux", home=tmp_path, config_home=tmp_path / ".config", run=recorder)
    report = manager.install(serve_command(None))
    unit = tmp_path / ".config/systemd/user/photoindex.service"
    assert report.ok and unit.is_file() and "Type=notify" in unit.read_text()
    assert ["systemctl", "--user", "daemon-reload"] in recorder.calls
    assert ["systemctl", "--user", "enable", "--now", "photoindex.service"] in recorder.calls
    if shutil.which("loginctl"):
        assert any("loginctl enable-linger" in line for line in report.lines)
    assert manager.status().ok
    report = manager.uninstall()
    assert report.ok and not unit.exists()
    assert ["systemctl", "--user", "disable", "--now", "photoindex.service"] in recorder.calls


def test_install_reports_a_missing_user_session(tmp_path: Path) -> None:
    def no_bus(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(list(argv), 1, stdout="", stderr="Failed to connect to bus: No medium")

    report = ServiceManager(platform="linux", home=tmp_path, config_home=tmp_path, run=no_bus).install(["x", "serve"])
    assert not report.ok and any("no systemd user session" in line for line in report.lines)


def test_launchd_install_bootstraps_the_agent(tmp_path: Path) -> None:
    recorder = Recorder()
    manager = ServiceManager(platform="darwin", home=tmp_path, run=recorder)
    report = manager.install(serve_command(None))
    agent = tmp_path / "Library/LaunchAgents/photoindex.plist"
    assert report.ok and plistlib.loads(agent.read_bytes())["Label"] == "photoindex"
    assert (tmp_path / "Library/Logs/photoindex").is_dir()
    assert recorder.calls[-1][:2] == ["launchctl", "bootstrap"]
