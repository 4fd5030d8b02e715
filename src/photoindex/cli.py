"""The ``photoindex`` command: argument parsing, output, exit codes.

Exit codes: 0 success (files that failed to index are recorded, not fatal),
1 a runtime error (store, models, another daemon owns the data), 2 bad usage
or configuration, 3 ``status``: no daemon is running.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import msgspec

from photoindex.cli_output import print_status, print_summary, print_toml
from photoindex.config import AppPaths, LoadedSettings, load_settings
from photoindex.errors import ConfigError, ErrorCode, PhotoindexError
from photoindex.logs import configure_logging

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_RUNNING = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="photoindex", description="Search a photo library by text, image and metadata."
    )
    parser.add_argument("--config", metavar="FILE", help="config file (default: $PHOTOINDEX_CONFIG or the platform's)")
    parser.add_argument(
        "--log-level",
        default=None,
        help="debug|info|warning|error (default: $PHOTOINDEX_LOG_LEVEL, else info for serve, warning otherwise)",
    )
    _add_loudness(parser, False)
    # The same flags after the command (`photoindex index ~/pics -v`); SUPPRESS keeps a flag given before it.
    loud = argparse.ArgumentParser(add_help=False)
    _add_loudness(loud, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_command = commands.add_parser

    def add_parser(name: str, **kwargs: Any) -> argparse.ArgumentParser:  # argparse's own signature
        return add_command(name, parents=[loud], **kwargs)

    commands.add_parser = add_parser  # type: ignore[method-assign]

    index = commands.add_parser("index", help="index folders now (default: the configured watch folders)")
    index.add_argument("paths", nargs="*", metavar="PATH", help="folders to index")
    index.add_argument("--json", action="store_true", help="print the summary as JSON")
    index.add_argument("--no-progress", action="store_true", help="no progress bar")
    index.add_argument("--no-captions", action="store_true", help="skip the deferred caption pass this time")

    search = commands.add_parser("search", help="find photos by a description or by an example image")
    search.add_argument("query", nargs="?", help="text describing the photo")
    search.add_argument("--image", metavar="FILE", help="find photos that look like this image")
    search.add_argument("--limit", type=int, default=20, help="how many results (1-1000)")
    search.add_argument("--offset", type=int, default=0, help="skip this many results (0-10000)")
    search.add_argument("--json", action="store_true", help="print results as JSON")

    config = commands.add_parser("config", help="where the config lives, the effective settings, validation")
    config.add_argument("action", choices=("path", "show", "check"))
    config.add_argument("--json", action="store_true", help="print as JSON")

    serve = commands.add_parser("serve", help="run the daemon in the foreground: watch folders, index, answer queries")
    serve.add_argument("paths", nargs="*", metavar="PATH", help="folders to watch (default: [watch] folders)")
    serve.add_argument("--no-api", action="store_true", help="do not start the query API")
    serve.add_argument(
        "--detach", action="store_true", help="start it in the background, print the page's URL once it answers"
    )

    status = commands.add_parser("status", help="what the running daemon does: queue, rate, failures, watchers")
    status.add_argument("--json", action="store_true", help="print the status as JSON")

    opener = commands.add_parser("open", help="open the web page in the default browser")
    opener.add_argument("--print", action="store_true", help="only print the page's URL")

    service = commands.add_parser("service", help="install, remove or inspect the per-user service (systemd/launchd)")
    service.add_argument("action", choices=("install", "uninstall", "status"))
    service.add_argument("--no-start", action="store_true", help="install: write the unit, do not start it")
    service.add_argument("--print", action="store_true", help="install: print the unit instead of writing it")
    return parser


def _add_loudness(parser: argparse.ArgumentParser, default: bool | str) -> None:
    """``-v``/``-q``; ``default``: False, or ``argparse.SUPPRESS`` to keep a value given before the command."""
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default,
        help="debug lines too, the libraries' info lines, time per stage",
    )
    loudness.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="only errors and the result: no progress, no hints"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (``argv`` defaults to ``sys.argv[1:]``)."""
    args = build_parser().parse_args(argv)
    default_level = "info" if args.command == "serve" else "warning"
    args.log_level = args.log_level or os.environ.get("PHOTOINDEX_LOG_LEVEL") or default_level
    if args.verbose or args.quiet:
        args.log_level = "debug" if args.verbose else "error"
    configure_logging(level=args.log_level)
    try:
        loaded = load_settings(args.config)
    except ConfigError as exc:
        if args.command == "config" and args.action == "path":
            print(exc.source)
            return EXIT_OK
        return _config_problems(exc, as_json=getattr(args, "json", False))
    try:
        if args.command == "config":
            return _config(args, loaded)
        if args.command == "index":
            return _index(args, loaded)
        if args.command == "search":
            return _search(args, loaded)
        if args.command == "serve":
            return _serve(args, loaded)
        if args.command == "status":
            return _status(args, loaded)
        if args.command == "service":
            return _service(args, loaded)
        if args.command == "open":
            return _open(args, loaded)
    except ConfigError as exc:
        return _config_problems(exc, as_json=getattr(args, "json", False))
    except PhotoindexError as exc:
        _emit_error(exc.code, exc.message, as_json=getattr(args, "json", False))
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted; everything written so far is kept", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (| head) went away; say nothing more.
        sys.stderr.close()
        return EXIT_OK
    return EXIT_USAGE


def _config(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    if args.action == "path":
        print(loaded.source)
        return EXIT_OK
    paths = AppPaths.from_settings(loaded.settings)
    if args.action == "check":
        from photoindex.indexer.models.ids import clip_spec

        spec = clip_spec(loaded.settings.model)
        report = {
            "ok": True,
            "config_file": str(loaded.source),
            "exists": loaded.file_exists,
            "overrides": list(loaded.overrides),
            "collection": spec.collection,
        }
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            where = loaded.source if loaded.file_exists else f"{loaded.source} (not present: defaults)"
            print(f"configuration OK: {where}")
            if loaded.overrides:
                print("environment overrides: " + ", ".join(loaded.overrides))
        return EXIT_OK
    effective = msgspec.to_builtins(loaded.settings)
    effective["resolved_paths"] = {k: str(v) for k, v in vars(paths).items()}
    if args.json:
        print(json.dumps(effective, indent=2))
    else:
        print_toml(effective)
    return EXIT_OK


def _index(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from photoindex.indexer.discovery import canonical_root

    settings = loaded.settings
    targets = args.paths or list(settings.watch.folders)
    if not targets:
        _emit_error(
            ErrorCode.CONFIG_INVALID, "no folders given and none configured in [watch] folders", as_json=args.json
        )
        return EXIT_USAGE
    roots = []
    for target in targets:
        root = canonical_root(target)
        if not os.path.isdir(root):
            _emit_error(ErrorCode.NOT_FOUND, f"{target} is not a folder", as_json=args.json)
            return EXIT_USAGE
        roots.append(root)
    from photoindex.oneshot.indexing import index_folders

    show_progress = not (args.no_progress or args.quiet or args.json) and sys.stderr.isatty()
    summary = index_folders(settings, roots, progress=show_progress, captions=not args.no_captions)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_summary(summary, stages=args.verbose)
    return EXIT_OK


def _search(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    if not args.query and not args.image:
        _emit_error(ErrorCode.CONFIG_INVALID, "give a text query or --image FILE", as_json=args.json)
        return EXIT_USAGE
    from photoindex.library.paging import MAX_OFFSET
    from photoindex.oneshot.searching import MAX_RESULTS, search

    if not 1 <= args.limit <= MAX_RESULTS or not 0 <= args.offset <= MAX_OFFSET:
        message = f"--limit must be 1-{MAX_RESULTS} and --offset 0-{MAX_OFFSET}"
        _emit_error(ErrorCode.CONFIG_INVALID, message, as_json=args.json)
        return EXIT_USAGE

    paths = AppPaths.from_settings(loaded.settings)
    if not args.quiet and sys.stderr.isatty() and not _daemon_answers(paths):
        print(SEARCH_HINT, file=sys.stderr)
    hits = search(loaded.settings, text=args.query, image=args.image, limit=args.limit, offset=args.offset, paths=paths)
    if args.json:
        print(json.dumps(hits, indent=2))
    elif not hits:
        print("no matches")
    else:
        for hit in hits:
            print(f"{hit['score']:.4f}  {hit['path']}")
    return EXIT_OK


SEARCH_HINT = (
    "photoindex: no daemon answers, so this search loads the model itself (several seconds); "
    "`photoindex serve` or `photoindex service install` keeps it loaded and makes searches instant"
)


def _open(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from photoindex.oneshot.opening import open_hints, open_page, page_url

    url, running = page_url(loaded.settings, _running_api(AppPaths.from_settings(loaded.settings)))
    print(url, flush=True)
    for hint in open_hints(running=running, opened=None if args.print else open_page(url)):
        print(hint, file=sys.stderr)
    return EXIT_OK


def _daemon_answers(paths: AppPaths) -> bool:
    """Whether ``search`` will find a daemon with its query API (else it loads the model here)."""
    from photoindex.oneshot.searching import NO_DAEMON_ENV

    return os.environ.get(NO_DAEMON_ENV) != "1" and _running_api(paths) is not None


def _running_api(paths: AppPaths) -> str | None:
    """The running daemon's API URL from its status file, or None."""
    from photoindex.daemon.status import read_status

    status, _note = read_status(paths.state_dir)
    return status.api_url if status is not None and status.api_url else None


def _serve(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from photoindex.indexer.discovery import canonical_root

    settings = loaded.settings
    roots = list(settings.watch.folders)
    if args.paths:
        roots = []
        for target in args.paths:
            if not os.path.isdir(target):
                _emit_error(ErrorCode.NOT_FOUND, f"{target} is not a folder", as_json=False)
                return EXIT_USAGE
            roots.append(canonical_root(target))
    if not roots and args.no_api:
        _emit_error(ErrorCode.CONFIG_INVALID, "no folders given and none configured in [watch] folders", as_json=False)
        return EXIT_USAGE
    if args.detach:
        return _serve_detached(args, loaded, roots)
    from photoindex.daemon.command import serve

    serve(settings, roots=roots, api=not args.no_api, log_level=args.log_level, config_file=loaded.source)
    return EXIT_OK


def _serve_detached(args: argparse.Namespace, loaded: LoadedSettings, roots: list[str]) -> int:
    from photoindex.daemon.status import read_status
    from photoindex.oneshot.detached import serve_detached

    if args.no_api:
        _emit_error(ErrorCode.CONFIG_INVALID, "--detach needs the API: it waits for the page", as_json=False)
        return EXIT_USAGE
    daemon = serve_detached(loaded.settings, roots, config_file=loaded.source, read_status=read_status)
    print(daemon.page_url, flush=True)
    for line in daemon.describe():
        print(line, file=sys.stderr)
    return EXIT_OK


def _status(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from photoindex.daemon.status import read_status

    paths = AppPaths.from_settings(loaded.settings)
    status, note = read_status(paths.state_dir)
    if status is None:
        if args.json:
            print(json.dumps({"running": False, "message": note}))
        else:
            print(note)
        return EXIT_NOT_RUNNING
    data = msgspec.to_builtins(status)
    if args.json:
        data["running"] = True
        if note:
            data["note"] = note
        print(json.dumps(data, indent=2))
    else:
        print_status(data, note)
    return EXIT_OK


def _service(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from photoindex.service_units import ServiceManager, serve_command

    manager = ServiceManager()
    if args.action == "install":
        config = loaded.source.resolve() if loaded.file_exists else None
        command = serve_command(config)
        if args.print:
            print(manager.render(command), end="")
            return EXIT_OK
        if loaded.overrides:
            print("note: environment overrides are not part of the service: " + ", ".join(loaded.overrides))
        report = manager.install(command, start=not args.no_start)
    elif args.action == "uninstall":
        report = manager.uninstall()
    else:
        report = manager.status()
    for line in report.lines:
        print(line)
    return EXIT_OK if report.ok else EXIT_ERROR


def _config_problems(exc: ConfigError, *, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"error": str(exc.code), "source": exc.source, "problems": exc.problems}, indent=2))
    else:
        print(f"photoindex: invalid configuration ({exc.source}):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
    return EXIT_USAGE


def _emit_error(code: ErrorCode, message: str, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"error": str(code), "message": message}))
    else:
        print(f"photoindex: {code}: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
