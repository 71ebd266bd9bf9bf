#!/usr/bin/env python3
"""Validates JSONL events against doralog's event schema (docs/event.schema.json).

Usage: python3 scripts/validate-events.py [--schema FILE] [--verdicts] [FILE ...]
Reads the files (or standard input), one event per line; blank lines are skipped. Besides the
schema it applies the rules a JSON Schema cannot state but a JSON reader can: strict UTF-8, no
NaN or Infinity, no repeated member names, at most 1 MiB per message. Prints one line per bad
event (FILE:LINE: reason) and exits 1 if there was any; with --verdicts, prints "ok" or
"invalid: reason" for every non-blank line instead (the project's tests use that).
Needs the `jsonschema` package (pip install jsonschema).
"""
import argparse
import json
import os
import sys

import jsonschema

MAX_BYTES = 1 << 20


class Invalid(Exception):
    pass


def _no_constants(name):
    raise Invalid(f"{name} is not JSON")


def _no_repeats(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise Invalid(f'an object repeats the member name "{key}"')
        seen[key] = value
    return seen


def check(raw, validator):
    """Returns None for a valid event, else the reason."""
    if len(raw) > MAX_BYTES:
        return f"message is {len(raw)} bytes; the limit is {MAX_BYTES}"
    try:
        text = raw.decode("utf-8")
        value = json.loads(text, parse_constant=_no_constants, object_pairs_hook=_no_repeats)
    except UnicodeDecodeError as e:
        return f"invalid UTF-8: {e}"
    except Invalid as e:
        return str(e)
    except ValueError as e:
        return f"not valid JSON: {e}"
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(the event)"
        return f"{where}: {error.message}"
    return None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", default=os.path.join(here, "..", "docs", "event.schema.json"))
    parser.add_argument("--verdicts", action="store_true", help="print ok / invalid for every line")
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()
    with open(args.schema, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    bad = 0
    sources = [(name, open(name, "rb")) for name in args.files] or [("-", sys.stdin.buffer)]
    for name, stream in sources:
        for number, line in enumerate(stream, 1):
            raw = line.rstrip(b"\n")
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip(b" \t"):
                continue
            reason = check(raw, validator)
            if args.verdicts:
                print("ok" if reason is None else f"invalid: {reason}")
            elif reason is not None:
                print(f"{name}:{number}: {reason}")
            bad += reason is not None
    if not args.verdicts and bad:
        print(f"{bad} invalid event(s)", file=sys.stderr)
    return 1 if bad and not args.verdicts else 0


if __name__ == "__main__":
    sys.exit(main())
