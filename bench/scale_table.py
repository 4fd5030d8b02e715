"""bench/scale.py's table: each measured row beside its goal (the issue "a million photos", 2-core machine)."""

from __future__ import annotations

import math
from typing import Any


def _ms(value: float | None) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:,.1f} ms"


def _s(value: float | None) -> str:
    return "not finished" if value is None else f"{value:,.2f} s"


def _met(ok: bool | None) -> str:
    return "" if ok is None else ("met" if ok else "MISSED")


def _le(value: float | None, goal: float) -> bool | None:
    return None if value is None else value <= goal


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(measure, result, goal, met) for every row the run measured."""
    store, serve = results["store"], results["serve"]
    out: list[tuple[str, str, str, str]] = []

    def add(measure: str, result: str, goal: str, ok: bool | None) -> None:
        out.append((measure, result, goal, _met(ok)))

    unf, flt = store["search_unfiltered_p95_ms"], store["search_filtered_p95_ms"]
    add(
        "store search p95, unfiltered / filtered",
        f"{_ms(unf)} / {_ms(flt)}",
        "≤ 10 ms / ≤ 20 ms",
        unf <= 10 and flt <= 20,
    )
    add("recall@10 against exact search", f"{store['recall_at_10']:.3f}", "≥ 0.95", store["recall_at_10"] >= 0.95)
    add("store open", _s(store["open_s"]), "", None)
    if "error" in results.get("index_build", {}):
        add("longest event-loop pause while the vector index builds", "build failed", "≤ 0.5 s", False)
    elif "index_build" in results:
        b = results["index_build"]
        add(
            "longest event-loop pause while the vector index builds",
            f"{_s(b['longest_loop_pause_s'])} (build {_s(b['seconds'])}, writes held "
            f"{_s(b['writes_held_copy_s'])} + {_s(b['writes_held_swap_s'])})",
            "≤ 0.5 s",
            b["longest_loop_pause_s"] <= 0.5,
        )
    if "ready_s" in serve:
        add("start → ready (API answering)", _s(serve["ready_s"]), "≤ 5 s", serve["ready_s"] <= 5)
    if "reconcile" in serve:
        rec = serve["reconcile"]
        during = rec["queries_meanwhile"]
        add(
            "first reconcile of the unchanged files",
            f"{_s(rec['done_after_start_s'])} after start (scan {rec['scan_s']:.1f} s)",
            "≤ 60 s",
            rec["done_after_start_s"] <= 60,
        )
        add(
            "  text queries meanwhile, p50 / p95",
            f"{_ms(during['p50_ms'])} / {_ms(during['p95_ms'])} "
            f"({during['answers']} answered after the first, not ok {during['not_ok']})",
            "",
            None,
        )
    for key, label in (("text_query", "text query over HTTP"), ("text_query_filtered", "filtered text query")):
        if key in serve:
            q = serve[key]
            add(f"{label}, p50 / p95", f"{_ms(q['p50_ms'])} / {_ms(q['p95_ms'])}", "p95 ≤ 150 ms", q["p95_ms"] <= 150)
    if "drop_to_searchable" in serve:
        d = serve["drop_to_searchable"]
        add(
            "drop → searchable, p50 / p95",
            f"{_s(d['p50_s'])} / {_s(d['p95_s'])}",
            "≤ 1 s / ≤ 2 s",
            d["p50_s"] <= 1 and d["p95_s"] <= 2,
        )
    if "api_stall" in serve:
        st = serve["api_stall"]
        add(
            "longest API stall (/health every 50 ms)",
            f"{_s(st['longest_s'])} during {st['during']}",
            "≤ 0.5 s",
            st["longest_s"] <= 0.5,
        )
    if "duplicates" in serve:
        dup = serve["duplicates"]
        for kind in ("exact", "near"):
            first, new = dup[f"{kind}_first_s"], dup[f"{kind}_after_new_photo_s"]
            add(
                f"{kind} duplicates: first answer / after a new copy",
                f"{_s(first)} / {_s(new)} ({dup[f'{kind}_groups']} groups)",
                "≤ 60 s / ≤ 1 s",
                None if first is None or new is None else first <= 60 and new <= 1,
            )
        similar = dup["similar_s"]
        add(
            "similar groups, whole library",
            _s(similar) if similar is not None else f"not finished (progress {dup['similar_progress']})",
            "≤ 15 min",
            False if similar is None else similar <= 900,
        )
    if "map" in serve:
        m = serve["map"]
        first = m["first_map_s"]
        peak = m["worker_peak_rss_mb"]
        add(
            "first map / its worker's peak RSS",
            f"{_s(first) if first is not None else 'not finished (' + str(m['photos_covered']) + ' covered)'}"
            f" / {'—' if peak is None else f'{peak:,} MB'} ({m['method']})",
            "≤ 10 min / ≤ 2 GB",
            None if first is None else first <= 600 and (peak is None or peak <= 2048),
        )
    if "idle" in serve:
        idle = serve["idle"]
        add(
            "idle RssAnon of the process tree",
            f"{idle['anon_mb']:,} MB (+ {idle['mapped_files_mb']:,} MB mapped files)",
            "≤ 400 MB",
            idle["anon_mb"] <= 400,
        )
    add("peak RSS of the process tree", f"{serve['peak_rss_mb']:,} MB", "≤ 4 GB", serve["peak_rss_mb"] <= 4096)
    if "reindex" in results:
        r = results["reindex"]
        add(
            f"adding {r['points']:,} points (vectors reused)",
            f"{r['points_per_s']:,} points/s",
            "≥ 5,000/s",
            r["points_per_s"] >= 5000,
        )
    if "disk_bytes_per_photo" in results:
        disk = results["disk_bytes_per_photo"]
        add("disk per photo (store + state + cache)", " + ".join(f"{v:,} B" for v in disk.values()), "reported", None)
    return out


def print_table(results: dict[str, Any]) -> None:
    table = rows(results)
    widths = [max(len(r[i]) for r in table) for i in range(3)]
    print()
    print(f"{results['photos']:,} photos; {results['model']}; store: {results['store_backend']}")
    print(f"{'measure':<{widths[0]}}  {'result':<{widths[1]}}  {'goal':<{widths[2]}}")
    for measure, result, goal, met in table:
        print(f"{measure:<{widths[0]}}  {result:<{widths[1]}}  {goal:<{widths[2]}}  {met}")
    machine = results["machine"]
    print(
        f"({machine['cpus']} CPUs, {machine['memory_gb']} GB; load average "
        f"{machine['load_average_at_start']} → {machine['load_average_at_end']})"
    )


__all__ = ["print_table", "rows"]
