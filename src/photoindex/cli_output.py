"""What ``photoindex`` prints: the daemon's status, an indexing summary, the effective settings."""

from __future__ import annotations

import json
from typing import Any


def print_status(s: dict[str, Any], note: str | None) -> None:
    q = s["queue"]
    read_only = " · read-only" if s.get("read_only") else ""
    print(f"photoindex {s['state']} · {s['health']}{read_only}  (pid {s['pid']}, up {duration(s['uptime_seconds'])})")
    eta = f"   ETA {duration(s['eta_seconds'])}" if s["eta_seconds"] is not None else ""
    print(
        f"queue: {q['settling']} settling, {q['queued']} in the pipeline, {q['rescans']} folder rescans"
        f"{' (scanning now)' if q['scanning'] else ''}   rate {s['rate_per_second']:.1f} files/s{eta}"
    )
    photos = s["photos"]
    line = f"photos: {photos['indexed']} indexed, {photos['pending']} pending, {photos['failed']} failed"
    if s["captions_pending"]:
        line += f"   captions pending: {s['captions_pending']}"
    print(line)
    if s["failures_by_code"]:
        print("failures: " + ", ".join(f"{code} {n}" for code, n in s["failures_by_code"].items()))
    m = s["models"]
    unload = f"unloaded after {m['idle_unload_seconds']:g} s idle" if m["idle_unload_seconds"] else "kept loaded"
    print(f"models: embedder {m['embedder']}, captioner {m['captioner']} ({unload})")
    if s.get("api_url"):
        print(f"api: {s['api_url']}")
    print("watched folders:")
    for w in s["watchers"]:
        scan = f", last scan {w['last_scan_seconds']:.1f} s" if w["last_scan_seconds"] is not None else ""
        print(f"  {w['path']}  {w['state']} ({w['mode']}, {w['filesystem']})  {w['photos']} photos{scan}")
        if w["reason"]:
            print(f"    {w['reason']}")
    for problem in s["problems"]:
        print(f"degraded: {problem['where']}: {problem['reason']}")
        print(f"  fix: {problem['fix']}")
    if note:
        print(f"note: {note}")


def duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def print_summary(summary: dict[str, Any], *, stages: bool = False) -> None:
    line = ", ".join(
        f"{summary[key]} {key}"
        for key in ("indexed", "unchanged", "reused", "moved", "touched", "pending", "deleted", "captioned")
        if summary[key] or key in ("indexed", "unchanged")
    )
    wall = summary["wall_seconds"]
    rate = f", {summary['seen'] / wall:.1f} files/s" if wall > 0 else ""
    print(f"{summary['seen']} files: {line}, {summary['failed']} failed  ({wall:.1f} s{rate})")
    if stages and summary["stage_seconds"]:
        # Busy time: decodes run in parallel, so a stage can be busy longer than the run took.
        busy = ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in summary["stage_seconds"].items())
        print(f"  busy time per stage: {busy}")
    for code, count in summary["failed_by_code"].items():
        print(f"  {code}: {count}")
    if summary.get("captions_pending"):
        print(f"  captions pending: {summary['captions_pending']} (they are filled in by the next run or the daemon)")


def print_toml(data: dict[str, Any]) -> None:
    for section, values in data.items():
        print(f"[{section}]")
        for key, value in values.items():
            if value is not None:
                print(f"{key} = {json.dumps(value)}")
        print()


__all__ = ["duration", "print_status", "print_summary", "print_toml"]
