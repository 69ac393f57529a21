#!/usr/bin/env python3
"""Compares the importable `infino` package with upstream's Python API as
tests/py/data/upstream_api.json describes it (upstream HEAD and PyPI
0.11.0; scripts/gen_upstream_api.py writes that file).

For each upstream release it reports, one finding per line:
  missing        an exported name, method or property we lack
  missing-param  a parameter of an upstream function we do not take
  position       an upstream positional parameter at another position here
  required       a parameter upstream lets callers omit but we require
  default        a default that differs (upstream's value, ours)
  extra-required a parameter we require that upstream does not have
  base           an exception class that is not also upstream's base
Findings listed in tests/py/data/api_parity_allow.txt (key, then the
reason) are reported as allowed; any other makes the exit status 1.
Allowed keys that match nothing are reported as stale, to be removed.

    PYTHONPATH=build-py/pkg .venv/bin/python scripts/check_api_parity.py
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
from typing import Any, Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "py", "data", "upstream_api.json")
ALLOW = os.path.join(ROOT, "tests", "py", "data", "api_parity_allow.txt")

Finding = Tuple[str, str]  # (key, detail)

_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: "positional",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional",
    inspect.Parameter.VAR_POSITIONAL: "var_positional",
    inspect.Parameter.KEYWORD_ONLY: "keyword_only",
    inspect.Parameter.VAR_KEYWORD: "var_keyword",
}


def our_params(obj: Any, drop_self: bool) -> Optional[List[Dict[str, Any]]]:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    out = []
    for i, p in enumerate(sig.parameters.values()):
        if drop_self and i == 0:
            continue
        d: Dict[str, Any] = {"name": p.name, "kind": _KINDS[p.kind]}
        if p.default is not inspect.Parameter.empty:
            d["default"] = repr(p.default)
        out.append(d)
    return out


def compare_params(where: str, theirs: List[Dict[str, Any]],
                   ours: List[Dict[str, Any]], version: str) -> List[Finding]:
    found: List[Finding] = []
    key = f"{version}:{{}}:{where}({{}})"
    by_name = {p["name"]: p for p in ours}
    our_pos = [p["name"] for p in ours if p["kind"] == "positional"]
    their_pos = [p["name"] for p in theirs if p["kind"] == "positional"]
    takes_kwargs = any(p["kind"] == "var_keyword" for p in ours)
    for p in theirs:
        if p["kind"] in ("var_positional", "var_keyword"):
            continue
        o = by_name.get(p["name"])
        if o is None:
            if not takes_kwargs:
                found.append((key.format("missing-param", p["name"]),
                              "upstream takes it, we do not"))
            continue
        if p["kind"] == "positional":
            i = their_pos.index(p["name"])
            if i >= len(our_pos) or our_pos[i] != p["name"]:
                at = our_pos.index(p["name"]) if p["name"] in our_pos else None
                found.append((key.format("position", p["name"]),
                              f"upstream position {i}, ours "
                              f"{'keyword-only' if at is None else at}"))
        if "default" in p and "default" not in o:
            found.append((key.format("required", p["name"]),
                          f"upstream default {p['default']}, required here"))
        elif "default" in p and p["default"] != "..." and o["default"] != p["default"]:
            found.append((key.format("default", p["name"]),
                          f"upstream {p['default']}, ours {o['default']}"))
    their_names = {p["name"] for p in theirs}
    for o in ours:
        if (o["name"] not in their_names and "default" not in o
                and o["kind"] in ("positional", "keyword_only")):
            found.append((key.format("extra-required", o["name"]),
                          "required here, unknown upstream"))
    return found


def check_version(module: Any, version: str, desc: Dict[str, Any]) -> List[Finding]:
    found: List[Finding] = []
    ours_all = set(getattr(module, "__all__", ()))
    for name in desc["exports"]:
        if not hasattr(module, name):
            found.append((f"{version}:missing:{name}", "not in the package"))
        elif name not in ours_all:
            found.append((f"{version}:missing:__all__.{name}",
                          "importable but not in __all__"))
    for name, params in desc["functions"].items():
        obj = getattr(module, name, None)
        if obj is None or params is None:
            continue
        mine = our_params(obj, False)
        if mine is not None:
            found += compare_params(name, params, mine, version)
    for cname, c in desc["classes"].items():
        cls = getattr(module, cname, None)
        if cls is None:
            continue  # reported above
        if isinstance(cls, type) and issubclass(cls, BaseException):
            mro = {k.__name__ for k in cls.__mro__}
            for base in c["bases"]:
                if base not in mro:
                    found.append((f"{version}:base:{cname}({base})",
                                  "not a subclass of upstream's base"))
        if c["constructor"] is not None and not issubclass(cls, BaseException):
            mine = our_params(cls, False)
            if mine is not None:
                found += compare_params(cname, c["constructor"], mine, version)
        for m, params in c["methods"].items():
            obj = getattr(cls, m, None)
            if obj is None:
                found.append((f"{version}:missing:{cname}.{m}", "no such method"))
                continue
            if params is None:
                continue
            mine = our_params(obj, True)
            if mine is not None:
                found += compare_params(f"{cname}.{m}", params, mine, version)
        for prop in c["properties"]:
            if not hasattr(cls, prop):
                found.append((f"{version}:missing:{cname}.{prop}", "no such property"))
    return found


def read_allow(path: str) -> Dict[str, str]:
    allow: Dict[str, str] = {}
    if not os.path.exists(path):
        return allow
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, _, reason = line.partition(" ")
            allow[key] = reason.strip()
    return allow


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--allow", default=ALLOW)
    ap.add_argument("--quiet", action="store_true", help="print only failures")
    args = ap.parse_args()
    with open(args.data, encoding="utf-8") as f:
        doc = json.load(f)
    import infino

    allow = read_allow(args.allow)
    findings: List[Finding] = []
    for version, desc in doc["versions"].items():
        findings += check_version(infino, version, desc)
    bad = [(k, d) for k, d in findings if k not in allow]
    seen = {k for k, _ in findings}
    stale = [k for k in allow if k not in seen]
    if not args.quiet:
        print(f"api parity of {infino.__file__} against "
              f"{', '.join(doc['versions'])}: {len(findings)} differences, "
              f"{len(findings) - len(bad)} allowed")
        for k, d in findings:
            if k in allow:
                print(f"  allowed  {k}: {d} [{allow[k]}]")
    for k in stale:
        print(f"  stale    {k}: no longer differs; remove it from {os.path.relpath(args.allow, ROOT)}")
    for k, d in bad:
        print(f"  FAIL     {k}: {d}")
    if bad:
        print(f"api parity: {len(bad)} difference(s) not in the allow-list")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
