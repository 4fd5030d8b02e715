"""The localhost query API: ``create_app`` and the security checks the daemon runs before binding."""

from photoindex.query_api.app import create_app
from photoindex.query_api.problems import ApiCode, Problem
from photoindex.query_api.security import check_bind, generate_api_key, is_loopback, resolve_api_key
from photoindex.query_api.services import ApiServices

__all__ = [
    "ApiCode",
    "ApiServices",
    "Problem",
    "check_bind",
    "create_app",
    "generate_api_key",
    "is_loopback",
    "resolve_api_key",
]
