#!/usr/bin/env python3
"""Writes tests/py/data/upstream_api.json: upstream infino's Python API
(names, signatures with defaults, properties, exception bases) as two
releases describe it, for scripts/check_api_parity.py.

- "head": the upstream repository's HEAD, read from its type stubs
  (infino-python/python/infino/_infino.pyi, parsed with `ast`) and its
  `__all__` (infino-python/python/infino/__init__.py). The stubs write
  most defaults as `...`; the real values come from the
  `#[pyo3(signature = ...)]` attributes of infino-python/src/lib.rs.
- "0.11.0": the PyPI release, introspected by importing it (inspect
  signatures of the compiled module, its properties and exception
  classes). It runs in a separate interpreter that has infino 0.11.0
  installed, never in the project's venv.

How the checked-in file was produced (2026-12, upstream HEAD b84a012):

    python3 -m venv /tmp/up011
    /tmp/up011/bin/pip install infino==0.11.0 pyarrow
    # a bare clone of github.com/infino-ai/infino at MIRROR
    python3 scripts/gen_upstream_api.py --mirror MIRROR \\
        --upstream-python /tmp/up011/bin/python > tests/py/data/upstream_api.json

Parameter records: {"name", "kind": "positional" | "keyword_only" |
"var_positional" | "var_keyword", "default": repr of the default, absent
when the parameter is required; "..." when no source gives the value}.
"""
from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
from typing import Any, Dict, List, Optional

STUBS = "infino-python/python/infino/_infino.pyi"
INIT = "infino-python/python/infino/__init__.py"
LIB_RS = "infino-python/src/lib.rs"


def git_show(mirror: str, rev: str, path: str) -> str:
    return subprocess.run(
        ["git", "-C", mirror, "show", f"{rev}:{path}"],
        check=True, capture_output=True, text=True,
    ).stdout


# ---- HEAD: stubs + pyo3 signatures -------------------------------------------


def rust_defaults(src: str) -> Dict[str, Dict[str, str]]:
    """{"Class.method" or "function": {param: default repr}} from the
    `#[pyo3(signature = (...))]` attributes; `#[new]` methods are
    "Class.__init__". Python class names follow `#[pyclass(name = ...)]`."""
    py_name: Dict[str, str] = {}
    for m in re.finditer(
        r"#\[pyclass(?:\(([^)]*)\))?\]\s*(?:#\[[^\]]*\]\s*)*(?:pub\s+)?struct\s+(\w+)", src
    ):
        args, rust = m.group(1) or "", m.group(2)
        n = re.search(r'name\s*=\s*"(\w+)"', args)
        py_name[rust] = n.group(1) if n else rust
    # Where each `#[pymethods] impl X` block starts, to place a method.
    blocks = [(m.start(), py_name.get(m.group(1), m.group(1)))
              for m in re.finditer(r"#\[pymethods\]\s*impl\s+(\w+)", src)]
    out: Dict[str, Dict[str, str]] = {}
    for m in re.finditer(r"#\[pyo3\(signature\s*=\s*\((.*?)\)\)\]", src, re.S):
        rest = src[m.end():]
        fn = re.search(r"\bfn\s+(\w+)", rest)
        if fn is None:
            continue
        between = rest[:fn.start()]
        owner = None
        for start, name in blocks:
            if start < m.start():
                owner = name
        # the attributes just above: #[new] (a constructor) or
        # #[pyfunction] (a free function, wherever it sits in the file)
        above = src[max(0, m.start() - 80):m.start()]
        above = above[above.rfind("\n\n") + 1:]
        fn_name = "__init__" if "#[new]" in above + between else fn.group(1)
        key = fn_name if "#[pyfunction]" in above else f"{owner}.{fn_name}"
        defaults = {}
        for part in m.group(1).split(","):
            part = part.strip()
            if "=" in part:
                name, value = (x.strip() for x in part.split("=", 1))
                defaults[name] = {"None": "None", "false": "False",
                                  "true": "True"}.get(value, value)
        out[key] = defaults
    return out


def stub_params(fn: ast.FunctionDef, real: Dict[str, str]) -> List[Dict[str, Any]]:
    a = fn.args
    params: List[Dict[str, Any]] = []
    positional = a.posonlyargs + a.args
    n_no_default = len(positional) - len(a.defaults)
    for i, arg in enumerate(positional):
        p: Dict[str, Any] = {"name": arg.arg, "kind": "positional"}
        if i >= n_no_default:
            p["default"] = default_repr(a.defaults[i - n_no_default], real.get(arg.arg))
        params.append(p)
    if a.vararg:
        params.append({"name": a.vararg.arg, "kind": "var_positional"})
    for arg, d in zip(a.kwonlyargs, a.kw_defaults):
        p = {"name": arg.arg, "kind": "keyword_only"}
        if d is not None:
            p["default"] = default_repr(d, real.get(arg.arg))
        params.append(p)
    if a.kwarg:
        params.append({"name": a.kwarg.arg, "kind": "var_keyword"})
    if params and params[0]["name"] == "self":
        params = params[1:]
    return params


def default_repr(node: ast.expr, real: Optional[str]) -> str:
    if isinstance(node, ast.Constant) and node.value is Ellipsis:
        return real if real is not None else "..."
    return ast.unparse(node)


def describe_head(mirror: str, rev: str) -> Dict[str, Any]:
    stubs = ast.parse(git_show(mirror, rev, STUBS))
    init = ast.parse(git_show(mirror, rev, INIT))
    real = rust_defaults(git_show(mirror, rev, LIB_RS))
    exports: List[str] = []
    for node in init.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            exports = list(ast.literal_eval(node.value))
    functions: Dict[str, Any] = {}
    classes: Dict[str, Any] = {}
    for node in stubs.body:
        if isinstance(node, ast.FunctionDef) and node.name in exports:
            functions[node.name] = stub_params(node, real.get(node.name, {}))
        elif isinstance(node, ast.ClassDef) and node.name in exports:
            classes[node.name] = stub_class(node, real)
    return {"source": f"upstream repository {rev}: {STUBS}, {INIT}, {LIB_RS}",
            "exports": exports, "functions": functions, "classes": classes}


def stub_class(node: ast.ClassDef, real: Dict[str, Dict[str, str]]) -> Dict[str, Any]:
    bases = [ast.unparse(b) for b in node.bases]
    c: Dict[str, Any] = {"bases": bases, "constructor": None, "methods": {},
                         "properties": []}
    for item in node.body:
        if not isinstance(item, ast.FunctionDef):
            continue
        decorators = [ast.unparse(d) for d in item.decorator_list]
        if "property" in decorators:
            c["properties"].append(item.name)
        elif item.name == "__init__":
            c["constructor"] = stub_params(item, real.get(f"{node.name}.__init__", {}))
        elif not item.name.startswith("_"):
            c["methods"][item.name] = stub_params(item, real.get(f"{node.name}.{item.name}", {}))
    return c


# ---- 0.11.0: the installed module ----------------------------------------------


def introspect() -> Dict[str, Any]:
    """Runs in the interpreter that has upstream's package installed."""
    import infino  # type: ignore[import-not-found]

    # one description of a signature for both sides (this script runs
    # from scripts/, so its sibling imports in upstream's interpreter too)
    from check_api_parity import our_params as params

    functions: Dict[str, Any] = {}
    classes: Dict[str, Any] = {}
    for name in infino.__all__:
        obj = getattr(infino, name)
        if not isinstance(obj, type):
            functions[name] = params(obj, False)
            continue
        c: Dict[str, Any] = {
            "bases": [b.__name__ for b in obj.__bases__ if b is not object],
            "constructor": None, "methods": {}, "properties": [],
        }
        if not issubclass(obj, BaseException):
            c["constructor"] = params(obj, False)
        for attr, value in sorted(vars(obj).items()):
            if attr.startswith("_"):
                continue
            if type(value).__name__ == "getset_descriptor" or isinstance(value, property):
                c["properties"].append(attr)
            elif callable(value):
                c["methods"][attr] = params(value, True)
        classes[name] = c
    return {"source": f"PyPI infino=={infino.__version__}, introspected",
            "exports": list(infino.__all__), "functions": functions,
            "classes": classes}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirror", help="a clone of github.com/infino-ai/infino")
    ap.add_argument("--rev", default="HEAD")
    ap.add_argument("--upstream-python",
                    help="an interpreter with infino 0.11.0 installed")
    ap.add_argument("--introspect", action="store_true",
                    help="(internal) describe the importable infino as JSON")
    args = ap.parse_args()
    if args.introspect:
        json.dump(introspect(), sys.stdout)
        return 0
    if not args.mirror or not args.upstream_python:
        ap.error("--mirror and --upstream-python are required")
    head = describe_head(args.mirror, args.rev)
    rev = subprocess.run(["git", "-C", args.mirror, "rev-parse", "--short", args.rev],
                         check=True, capture_output=True, text=True).stdout.strip()
    head["source"] = head["source"].replace(args.rev, rev, 1)
    out = subprocess.run([args.upstream_python, __file__, "--introspect"],
                         check=True, capture_output=True, text=True).stdout
    pypi = json.loads(out)
    doc = {
        "generated_by": "scripts/gen_upstream_api.py (see its docstring)",
        "versions": {"head": head, pypi["source"].split("==")[1].split(",")[0]: pypi},
    }
    json.dump(doc, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
