#!/usr/bin/env python3
"""Validates CDEvents against the official JSON schemas of the cdevents/spec repository.

usage: check-cdevents.py SPEC_GIT_DIR SAMPLES.json

SPEC_GIT_DIR is a clone (or bare mirror) of https://github.com/cdevents/spec; SAMPLES.json is
a list of {"tag": "v0.4.1", "schema": "servicedeployed", "event": {...}} (the CDEvent itself,
not its CloudEvent envelope). Each sample is checked against schemas/SCHEMA.json of that tag,
with the tag's other schemas (links/...) resolvable by their $id. Prints one line per sample
and exits 1 if any is invalid.
"""
import json
import subprocess
import sys

import jsonschema
from referencing import Registry, Resource


def schemas(spec, tag):
    names = subprocess.run(["git", "--git-dir", spec, "ls-tree", "-r", "--name-only", tag, "schemas/"],
                           check=True, capture_output=True, text=True).stdout.split()
    out = {}
    for name in names:
        if name.endswith(".json"):
            text = subprocess.run(["git", "--git-dir", spec, "show", f"{tag}:{name}"], check=True, capture_output=True, text=True).stdout
            out[name] = json.loads(text)
    return out


def main():
    spec, samples_file = sys.argv[1], sys.argv[2]
    samples = json.load(open(samples_file))
    cache = {}
    bad = 0
    for s in samples:
        tag = s["tag"]
        if tag not in cache:
            found = schemas(spec, tag)
            registry = Registry().with_resources((doc["$id"], Resource.from_contents(doc)) for doc in found.values() if "$id" in doc)
            cache[tag] = (found, registry)
        found, registry = cache[tag]
        schema = found[f"schemas/{s['schema']}.json"]
        validator = jsonschema.Draft202012Validator(schema, registry=registry)
        errors = sorted(validator.iter_errors(s["event"]), key=lambda e: list(e.path))
        if errors:
            bad += 1
            print(f"INVALID {tag} {s['schema']}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:3]))
        else:
            print(f"ok {tag} {s['schema']}")
    sys.exit(1 if bad else 0)


main()
