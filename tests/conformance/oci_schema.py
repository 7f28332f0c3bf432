#!/usr/bin/env python3
"""Validates OCI documents against conformance/oci-image-spec-schema, offline.

  oci_schema.py SCHEMA_DIR examples          the 71 upstream examples, with verdicts
  oci_schema.py SCHEMA_DIR layout PATH...    every document of an OCI layout (directory
                                             or tar): oci-layout, index.json, manifests,
                                             configs; docker-archive tars too

Besides the JSON schema this applies the checks image-spec's Go validator adds
(see the corpus README): Go-type decoding, well-formed digests for registered
algorithms, Env entries of the form K=V, base64 data, URL characters."""
import base64
import copy
import io
import json
import os
import re
import sys
import tarfile

import jsonschema

SCHEMAS = sys.argv[1]
ENTRY = {"manifest": "image-manifest-schema.json", "index": "image-index-schema.json",
         "config": "config-schema.json", "layout": "image-layout-schema.json",
         "descriptor": "content-descriptor.json"}


def strip_ids(node):
    if isinstance(node, dict):
        return {k: strip_ids(v) for k, v in node.items() if k != "id"}
    if isinstance(node, list):
        return [strip_ids(v) for v in node]
    return node


store = {}
for name in os.listdir(SCHEMAS):
    if name.endswith(".json"):
        with open(os.path.join(SCHEMAS, name)) as f:
            store[name] = strip_ids(json.load(f))
base = "file://" + os.path.abspath(SCHEMAS) + "/"
full_store = {base + k: v for k, v in store.items()}


def validator(kind):
    schema = store[ENTRY[kind]]
    resolver = jsonschema.RefResolver(base, schema, store=full_store)
    return jsonschema.Draft4Validator(schema, resolver=resolver)


VALIDATORS = {k: validator(k) for k in ENTRY}
DIGEST_RE = {"sha256": r"[a-f0-9]{64}", "sha384": r"[a-f0-9]{96}", "sha512": r"[a-f0-9]{128}"}
URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]*$")


def descriptors(kind, doc):
    if kind == "descriptor":
        yield doc
    elif kind == "manifest":
        if isinstance(doc.get("config"), dict):
            yield doc["config"]
        for l in doc.get("layers") or []:
            if isinstance(l, dict):
                yield l
        if isinstance(doc.get("subject"), dict):
            yield doc["subject"]
    elif kind == "index":
        for m in doc.get("manifests") or []:
            if isinstance(m, dict):
                yield m


def extra_checks(kind, doc):
    for d in descriptors(kind, doc):
        dg = d.get("digest")
        if isinstance(dg, str) and ":" in dg:
            alg, _, hexpart = dg.partition(":")
            if alg in DIGEST_RE and not re.fullmatch(DIGEST_RE[alg], hexpart):
                return f"malformed {alg} digest"
        if "data" in d:
            try:
                base64.b64decode(d["data"], validate=True)
            except Exception:
                return "bad base64 data"
        for u in d.get("urls") or []:
            if not isinstance(u, str) or not URL_RE.match(u):
                return f"bad url {u!r}"
    if kind == "config":
        for e in ((doc.get("config") or {}).get("Env") or []):
            if not isinstance(e, str) or not re.fullmatch(r"[^=]+=.*", e, re.S):
                return f"bad Env entry {e!r}"
    return None


def check(kind, raw):
    """Returns None when valid, else the reason."""
    try:
        doc = json.loads(raw)
    except Exception as e:
        return f"not JSON: {e}"
    errs = sorted(VALIDATORS[kind].iter_errors(doc), key=str)
    if errs:
        return errs[0].message
    return extra_checks(kind, doc)


def run_examples():
    ex = os.path.join(SCHEMAS, "examples")
    ok = total = 0
    with open(os.path.join(ex, "INDEX.tsv")) as f:
        next(f)
        for line in f:
            fname, kind, expect = line.rstrip("\n").split("\t")[:3]
            total += 1
            raw = open(os.path.join(ex, fname), "rb").read()
            verdict = "valid" if check(kind, raw) is None else "invalid"
            if verdict == expect:
                ok += 1
            else:
                print(f"  {fname}: expected {expect}, got {verdict}: {check(kind, raw)}")
    print(f"oci-schema examples: {ok}/{total}")
    return ok == total


def layout_files(path):
    if os.path.isdir(path):
        def read(name):
            p = os.path.join(path, name)
            return open(p, "rb").read() if os.path.exists(p) else None
        return read
    t = tarfile.open(path)
    members = {m.name.lstrip("./"): m for m in t.getmembers() if m.isfile()}

    def read(name):
        m = members.get(name)
        return t.extractfile(m).read() if m else None
    return read


def validate_layout(path):
    read = layout_files(path)
    problems = []
    count = 0

    def need(kind, name, raw):
        nonlocal count
        count += 1
        if raw is None:
            problems.append(f"{name}: missing")
            return None
        why = check(kind, raw)
        if why:
            problems.append(f"{name} ({kind}): {why}")
        return json.loads(raw) if why is None else None

    need("layout", "oci-layout", read("oci-layout"))
    index = need("index", "index.json", read("index.json"))

    def walk_manifest(desc):
        name = "blobs/" + desc["digest"].replace(":", "/")
        if desc.get("mediaType") in ("application/vnd.oci.image.index.v1+json",):
            sub = need("index", name, read(name))
            for m in (sub or {}).get("manifests", []):
                walk_manifest(m)
            return
        m = need("manifest", name, read(name))
        if m:
            c = m["config"]
            need("config", "blobs/" + c["digest"].replace(":", "/"), read("blobs/" + c["digest"].replace(":", "/")))

    for d in (index or {}).get("manifests", []):
        walk_manifest(d)
    return count, problems


if sys.argv[2] == "examples":
    sys.exit(0 if run_examples() else 1)
bad = 0
for p in sys.argv[3:]:
    n, problems = validate_layout(p)
    for pr in problems:
        print(f"  {p}: {pr}")
    bad += len(problems)
    print(f"oci-schema {os.path.basename(p)}: {n - len(problems)}/{n} documents valid")
sys.exit(1 if bad else 0)
