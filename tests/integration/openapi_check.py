#!/usr/bin/python3
"""Checks crgw's answers and route table against gateway/openapi.yaml (issue 13).

  openapi_check.py routes SPEC < `crgw routes` output
      every route of the table (method, pattern, roles, name) is an operation of SPEC with the
      same x-crgw-roles and operationId, and every operation of SPEC is a route; SPEC itself is
      OpenAPI 3.1 with valid Draft 2020-12 schemas and no dangling $ref
  openapi_check.py validate SPEC DIR
      DIR holds recorded answers: N.meta (METHOD TAB PATH TAB STATUS TAB CONTENT-TYPE) and N.body.
      Each answer must be documented (path, method, status, media type) and its JSON body must
      validate against the schema of that response (problem bodies: "status" = the HTTP status);
      every operation needs at least one validated success and one validated error answer.
  openapi_check.py mutate SPEC DIR
      every field of every JSON success answer is renamed in a copy, one at a time, and the
      problem type of every error answer: each copy must fail validation (a renamed field or
      problem slug is caught)
Answers that belong to no operation (404 of a path without route, 405 of a method the path
lacks: `allow` must list the documented methods) are validated against x-crgw-unrouted; the
server's answers any route may give (403 forbidden, 413...) against x-crgw-any-route.

Uses Debian's python3-yaml and python3-jsonschema (Draft 2020-12, the dialect of OpenAPI 3.1).
Exit 0 when everything holds, 1 otherwise (one line per problem).
"""
import copy
import json
import os
import re
import sys

import jsonschema
import yaml

JSON_TYPES = ("application/json", "application/problem+json")
# caller-supplied objects echoed back (free-form by contract): renaming inside them is not a
# contract violation
FREE_FORM = {"applicant", "materials"}


def load_spec(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def operations(spec):
    for p, item in spec["paths"].items():
        for m, op in item.items():
            if m in ("get", "post", "put", "delete", "patch"):
                yield p, m.upper(), op


def template_regex(p):
    return re.compile("^" + re.sub(r"\\\{[^}/]+\\\}", "[^/]+", re.escape(p)) + "$")


def cmd_routes(spec):
    bad = 0
    documented = {}
    for p, m, op in operations(spec):
        documented[(m, re.sub(r"\{[^}/]+\}", "{}", p))] = op
    seen = set()
    for line in sys.stdin:
        if not line.strip():
            continue
        method, pattern, roles, name = line.rstrip("\n").split("\t")
        seen.add((method, pattern))
        op = documented.get((method, pattern))
        if op is None:
            print(f"FAIL route {method} {pattern} ({name}) is not in openapi.yaml")
            bad = 1
            continue
        want = sorted(roles.split(","))
        got = sorted(op.get("x-crgw-roles", []))
        if op.get("operationId") != name:
            print(f"FAIL {method} {pattern}: operationId {op.get('operationId')!r}, route name {name!r}")
            bad = 1
        elif want != got:
            print(f"FAIL {method} {pattern}: x-crgw-roles {got} in openapi.yaml, {want} in the code")
            bad = 1
        else:
            print(f"ok   {method} {pattern} [{roles}] documented")
    for key in sorted(documented):
        if key not in seen:
            print(f"FAIL openapi.yaml documents {key[0]} {key[1]}, which is no route of crgw")
            bad = 1
    if not seen:
        print("FAIL no routes read (crgw routes printed nothing)")
        bad = 1
    bad |= check_document(spec)
    print(f"routes: {len(seen)} in the table, {len(documented)} in openapi.yaml")
    return bad


def refs(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "$ref" and isinstance(v, str):
                yield v
            else:
                yield from refs(v)
    elif isinstance(o, list):
        for v in o:
            yield from refs(v)


def check_document(spec):
    """The description itself: OpenAPI 3.1, every schema a valid Draft 2020-12 schema, every
    $ref resolves, every operation has responses."""
    bad = 0
    if not str(spec.get("openapi", "")).startswith("3.1."):
        print(f"FAIL openapi: {spec.get('openapi')!r}, not 3.1.x")
        bad = 1
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.exceptions.SchemaError as e:
            print(f"FAIL components/schemas/{name}: {e.message}")
            bad = 1
    resolver = jsonschema.RefResolver("", spec)
    for r in sorted(set(refs(spec))):
        try:
            resolver.resolve(r)
        except jsonschema.exceptions.RefResolutionError:
            print(f"FAIL $ref {r} does not resolve")
            bad = 1
    for p, m, op in operations(spec):
        if not op.get("responses"):
            print(f"FAIL {m} {p}: no responses")
            bad = 1
    return bad


class Validator:
    def __init__(self, spec, spec_path):
        self.spec = spec
        self.spec_path = spec_path
        self.resolver = jsonschema.RefResolver("", spec)
        self.ops = [(template_regex(p), p, m, op) for p, m, op in operations(spec)]

    def deref(self, obj):
        while isinstance(obj, dict) and "$ref" in obj and len(obj) == 1:
            obj = self.resolver.resolve(obj["$ref"])[1]
        return obj

    def find(self, method, path):
        for rx, p, m, op in self.ops:
            if m == method and rx.match(path):
                return p, op
        return None, None

    def methods_of(self, path):
        """(spec path, its methods) of the template path matches, or (None, [])."""
        for rx, p, m, op in self.ops:
            if rx.match(path):
                return p, [m2 for rx2, p2, m2, op2 in self.ops if p2 == p]
        return None, []

    def schema_of(self, method, path, status, ctype):
        """(schema or None, error text or None, spec path): the first documented response."""
        c = self.candidates(method, path, status, ctype)
        return c[0]

    def candidates(self, method, path, status, ctype):
        """[(schema or None, error text or None, spec path)]: the operation's response for the
        status, then the one any route may give (x-crgw-any-route), when both exist."""
        first = self.one_schema(method, path, status, ctype)
        p, op = self.find(method, path.split("?", 1)[0])
        generic = self.spec.get("x-crgw-any-route", {}).get(str(status))
        if op is None or generic is None:
            return [first]
        content = self.deref(generic).get("content", {})
        media = content.get(ctype)
        if media is None:
            return [first]
        second = (media.get("schema", {}), None, p)
        return [second] if first[0] is None else [first, second]

    def one_schema(self, method, path, status, ctype):
        p, op = self.find(method, path.split("?", 1)[0])
        if op is None:
            # no operation: a path without route (404) or a method the path lacks (405)
            p, methods = self.methods_of(path.split("?", 1)[0])
            want = 405 if p else 404
            if status != want:
                return None, f"{method} {path}: no such operation, so {want} is documented, " \
                    f"not {status}", p
            resp = self.spec.get("x-crgw-unrouted", {}).get(str(status))
            if resp is None:
                return None, f"x-crgw-unrouted documents no {status}", p
            p = p or "(no route)"
        else:
            resp = op.get("responses", {}).get(str(status)) or op.get("responses", {}).get("default")
        if resp is None:
            return None, f"{method} {p}: status {status} is not documented", p
        resp = self.deref(resp)
        content = resp.get("content", {})
        media = content.get(ctype)
        if media is None:
            return None, f"{method} {p} {status}: content type {ctype} is not documented " \
                f"({', '.join(content) or 'none'})", p
        return media.get("schema", {}), None, p

    def errors(self, schema, body):
        v = jsonschema.Draft202012Validator(schema, resolver=self.resolver)
        return sorted(v.iter_errors(body), key=lambda e: list(e.absolute_path))


def read_answers(d):
    out = []
    for name in sorted(os.listdir(d), key=lambda n: (len(n), n)):
        if not name.endswith(".meta"):
            continue
        base = os.path.join(d, name[:-5])
        with open(base + ".meta", encoding="utf-8") as f:
            method, path, status, ctype = f.read().rstrip("\n").split("\t")[:4]
        with open(base + ".body", "rb") as f:
            body = f.read()
        ctype = ctype.split(";", 1)[0].strip().lower()
        out.append((name[:-5], method, path, int(status), ctype, body))
    return out


def where(e):
    return "/".join(str(x) for x in e.absolute_path) or "(top)"


def check_answer(val, a):
    """Returns (error text or None, spec path, parsed JSON or None)."""
    n, method, path, status, ctype, body = a
    cands = val.candidates(method, path, status, ctype)
    schema, err, p = cands[0]
    if err:
        return err, p, None
    if ctype in JSON_TYPES:
        try:
            doc = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            return f"body is not JSON: {e}", p, None
        errs = val.errors(schema, doc)
        if errs and not any(c[0] is not None and not val.errors(c[0], doc) for c in cands[1:]):
            return "; ".join(f"{where(e)}: {e.message}" for e in errs[:3]), p, doc
        if ctype == "application/problem+json" and doc.get("status") != status:
            return f"problem status {doc.get('status')} is not the HTTP status {status}", p, doc
        if status == 405:
            methods = sorted(val.methods_of(path.split("?", 1)[0])[1])
            allow = sorted(x.strip() for x in str(doc.get("allow", "")).split(","))
            if allow != methods:
                return f"allow {doc.get('allow')!r}: the description has {methods}", p, doc
        return None, p, doc
    if ctype == "application/yaml":
        with open(val.spec_path, "rb") as f:
            if body != f.read():
                return "the served description is not gateway/openapi.yaml", p, None
        return None, p, None
    if not body:
        return "empty body", p, None
    return None, p, None


def cmd_validate(spec, spec_path, d):
    val = Validator(spec, spec_path)
    answers = read_answers(d)
    bad = 0
    ok_codes = {}
    for a in answers:
        n, method, path, status, ctype, body = a
        err, p, _ = check_answer(val, a)
        if err:
            print(f"FAIL #{n} {method} {path} -> {status} {ctype}: {err}")
            bad = 1
            continue
        print(f"ok   #{n} {method} {path} -> {status} {ctype}")
        if val.find(method, path.split("?", 1)[0])[1] is None:
            ok_codes.setdefault((None, p), set()).add(status)  # 405 of the path, or 404
        else:
            ok_codes.setdefault((method, p), set()).add(status)
    for p, m, op in operations(spec):
        codes = ok_codes.get((m, p), set())
        succ = sorted(c for c in codes if c < 400)
        errs = sorted(c for c in codes if c >= 400)
        wrong_method = ok_codes.get((None, p), set())
        if not succ or not (errs or wrong_method):
            print(f"FAIL {m} {p}: needs a validated success and error answer "
                  f"(validated: {sorted(codes) or 'none'}, 405 of the path: {bool(wrong_method)})")
            bad = 1
        else:
            print(f"ok   {m} {p}: validated {succ + errs}{' and 405' if wrong_method else ''}")
    if 404 not in ok_codes.get((None, "(no route)"), set()):
        print("FAIL no validated 404 of a path without route")
        bad = 1
    print(f"validate: {len(answers)} answers, {'FAILED' if bad else 'all valid'}")
    return bad


def renames(doc, prefix=()):
    """Every (path to an object, key) of doc, outside free-form caller data."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield prefix, k
            if k not in FREE_FORM:
                yield from renames(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from renames(v, prefix + (i,))


def cmd_mutate(spec, spec_path, d):
    val = Validator(spec, spec_path)
    bad = 0
    tried = 0
    slugs = 0
    for a in read_answers(d):
        n, method, path, status, ctype, body = a
        if ctype not in JSON_TYPES:
            continue
        err, p, doc = check_answer(val, a)
        if err or doc is None:
            continue
        if status >= 400:
            # a problem whose type slug is renamed is not the documented problem
            m = dict(doc, type=str(doc.get("type")) + "-renamed")
            cands = val.candidates(method, path, status, ctype)
            if any(c[0] is not None and not val.errors(c[0], m) for c in cands):
                print(f"FAIL #{n} {method} {p} {status}: a renamed problem type still validates")
                bad = 1
            slugs += 1
            continue
        schema = val.schema_of(method, path, status, ctype)[0]
        for where_, key in renames(doc):
            m = copy.deepcopy(doc)
            o = m
            for k in where_:
                o = o[k]
            o[key + "_renamed"] = o.pop(key)
            tried += 1
            if not val.errors(schema, m):
                loc = "/".join(str(x) for x in where_ + (key,))
                print(f"FAIL #{n} {method} {p} {status}: renaming {loc} still validates")
                bad = 1
    if tried == 0:
        print("FAIL mutate: no success answer to mutate")
        bad = 1
    print(f"mutate: {tried} renamed fields, {slugs} renamed problem types, "
          f"{'some were NOT caught' if bad else 'every one fails validation'}")
    return bad


def main(argv):
    if len(argv) < 3 or argv[1] not in ("routes", "validate", "mutate"):
        print(__doc__, file=sys.stderr)
        return 2
    spec = load_spec(argv[2])
    if argv[1] == "routes":
        return cmd_routes(spec)
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] == "validate":
        return cmd_validate(spec, argv[2], argv[3])
    return cmd_mutate(spec, argv[2], argv[3])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
