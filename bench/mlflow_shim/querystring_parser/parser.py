"""Minimal stand-in for querystring_parser.parser.parse (benchmark harness only)."""
import re
from urllib.parse import parse_qsl


def parse(query_string, normalized=False):
    del normalized  # Values are always returned normalised (lists for repeated keys).
    result = {}
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        match = re.fullmatch(r"(.*)\[\d*\]", key)
        if match:
            result.setdefault(match.group(1), []).append(value)
        elif key in result:
            existing = result[key]
            result[key] = (existing if isinstance(existing, list) else [existing]) + [value]
        else:
            result[key] = value
    return result
