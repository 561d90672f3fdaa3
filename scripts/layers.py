#!/usr/bin/env python3
"""Every module looks down: the layering check (run by scripts/test.sh before clippy).

It reads the Rust sources of the `app` and `server` crates (no build needed), finds
every reference one module makes to another (`use` lines, and paths written inline:
`crate::..`, `super::..`, `app::..` from the server crate, and names brought in by a
`use`), and fails when
  1. a module refers to a module of a higher layer (the table `LAYERS` below, bottom
     first; a module belongs to the layer of the longest prefix that names it), or
  2. the files refer to each other in a circle (module A uses B, B uses ... A).
A `mod x;` declaration is not a reference; `pub use x::Y` (a re-export) is.
`#[cfg(test)]` modules are checked like the rest.

Usage: scripts/layers.py [--graph]   (--graph prints every edge it found)
"""
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

# The layers, bottom first. A module may refer to its own layer's modules (without a
# circle) and to any lower layer's, never to a higher one's. Names are module paths
# without `crate::`; the server crate's are prefixed with `bin::`, and the whole app
# crate is below it.
LAYERS = [
    # Shared by the browser and the server.
    ("shared", ["util", "error", "paging", "dto"]),
    # Server-side foundations: no domain knowledge.
    ("foundation", [
        "server", "server::time", "server::money", "server::sql", "server::config",
        "server::entities", "server::db", "server::net", "server::ratelimit",
        "server::range", "server::table", "server::metrics", "server::headers",
    ]),
    # The group-commit writer of the hot paths: rows in, commits out.
    ("writer", ["server::writer"]),
    # The domain, bottom first: each module may use those listed before it.
    ("accounts", ["server::accounts"]),
    ("tracking", ["server::tracking"]),
    ("request context", ["server::context"]),
    ("conversions", ["server::conversions"]),
    ("referrals and campaigns", ["server::referrals", "server::campaigns", "server::api_keys"]),
    ("attribution", ["server::attribution"]),
    # The landing pipeline records clicks on links as well as touches.
    ("landing pipeline", ["server::tracking::landing"]),
    # Sign-up makes a user, a link, an identity and a conversion in one transaction.
    ("sign-up", ["server::accounts::signup"]),
    ("dashboards", ["server::dashboards"]),
    # What the database records about the settings that shaped its data.
    ("settings guard", ["server::meta"]),
    # What requests share: the state and the helpers of server functions.
    ("state", ["server::state"]),
    ("server functions", ["api"]),
    ("components", ["components"]),
    ("pages", ["pages"]),
    ("app", ["app", "lib"]),
    # The server crate, above the whole app crate.
    ("server crate: foundations", [
        "bin::errors", "bin::telemetry", "bin::session_store", "bin::threads",
    ]),
    ("server crate: middleware and routes", [
        "bin::middleware", "bin::referral", "bin::health", "bin::api_v1", "bin::export",
        "bin::seed", "bin::metrics",
    ]),
    ("server crate: startup", ["bin::startup"]),
    ("server crate: entry points", ["bin::cli", "bin::lib", "bin::main"]),
]

CRATES = [("app/src", ""), ("server/src", "bin::")]


def module_of(path, src, prefix):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    return prefix + "::".join(rel) if rel else prefix.rstrip(":")


def strip(text):
    """The source with comments, strings and char literals blanked (kept: newlines)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
            continue
        if text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append("\n" * text.count("\n", i, j))
            i = j
            continue
        m = re.match(r'b?r(#*)"', text[i:i + 300]) if c in "br" and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")) else None
        if m:
            end = '"' + m.group(1)
            j = text.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j
            continue
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j + 1
            continue
        if c == "'":
            m = re.match(r"'(\\(x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'])'", text[i:i + 12])
            if m:
                out.append("' '")
                i += m.end()
                continue
        out.append(c)
        i += 1
    return "".join(out)


USE_RE = re.compile(r"\b(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);")
PATH_RE = re.compile(r"(?<![\w:])((?:[A-Za-z_]\w*)(?:\s*::\s*[A-Za-z_]\w*)+)")
INLINE_MOD_RE = re.compile(r"\bmod\s+(\w+)\s*\{")


def expand_use(tree):
    """`a::{b, c::{d as e}}` -> [("a::b", "b"), ("a::c::d", "e")]."""
    tree = re.sub(r"\s+", " ", tree).strip()

    def split_top(s):
        parts, depth, cur = [], 0, ""
        for ch in s:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        if cur.strip():
            parts.append(cur)
        return [p.strip() for p in parts if p.strip()]

    def go(prefix, s):
        i = s.find("{")
        if i >= 0 and s.endswith("}"):
            head = s[:i].rstrip(": ").strip()
            base = prefix + ("::" if prefix and head else "") + head
            res = []
            for p in split_top(s[i + 1:-1]):
                res.extend(go(base, p))
            return res
        alias = None
        if " as " in s:
            s, alias = [x.strip() for x in s.split(" as ", 1)]
        full = prefix + ("::" if prefix and s else "") + s
        name = alias or full.split("::")[-1]
        if name == "self":
            full = full[: -len("::self")]
            name = alias or full.split("::")[-1]
        return [(full, name)]

    return go("", tree)


def scopes(code):
    """For each character offset, the inline `mod` nesting depth (for `super::`)."""
    depth_at = [0] * (len(code) + 1)
    stack, brace = [], 0
    starts = {m.end() - 1 for m in INLINE_MOD_RE.finditer(code)}
    for i, ch in enumerate(code):
        if ch == "{":
            brace += 1
            if i in starts:
                stack.append(brace)
        elif ch == "}":
            if stack and stack[-1] == brace:
                stack.pop()
            brace -= 1
        depth_at[i] = len(stack)
    return depth_at


def absolute(path, here, crate_prefix, aliases):
    """The segments of the item a path names, from the crate root (`bin` for the
    server crate), or None for a path into another crate or a local name."""
    segs = [x.strip() for x in path.split("::")]
    first = segs[0]
    if first == "crate":
        return [x for x in crate_prefix.split("::") if x] + segs[1:]
    if first in ("super", "self"):
        base = here.split("::") if here else []
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                base = base[:-1]
            segs = segs[1:]
        return base + segs
    if first == "app" and crate_prefix:
        return segs[1:]
    if first in aliases:
        return aliases[first] + segs[1:]
    return None


def resolve(segs, modules):
    """The module (longest known prefix) of an absolute path."""
    for k in range(len(segs), 0, -1):
        cand = "::".join(segs[:k])
        if cand in modules:
            return cand
    return None


def layer_of(module):
    best, rank = None, None
    for r, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + "::")) and (best is None or len(p) > len(best)):
                best, rank = p, r
    return rank


def main():
    files = {}
    for src, prefix in CRATES:
        base = os.path.join(ROOT, src)
        for dirpath, _, names in os.walk(base):
            for name in names:
                if name.endswith(".rs"):
                    path = os.path.join(dirpath, name)
                    files[module_of(path, base, prefix)] = (path, prefix)
    # `lib.rs` is the crate root; `app` (app.rs) is a module of it.
    modules = set(files)
    edges = {}
    for mod, (path, prefix) in files.items():
        with open(path, encoding="utf-8") as f:
            code = strip(f.read())
        depth = scopes(code)
        here = mod[: -len("lib")].rstrip(":") if mod.endswith("lib") else mod
        aliases = {}
        refs = []

        def scope(offset):
            # Inside an inline `mod x { .. }`, `super` is the file's module.
            return "::".join([x for x in here.split("::") if x] + ["_"] * depth[offset])

        uses = list(USE_RE.finditer(code))
        for m in uses:
            for full, name in expand_use(m.group(1)):
                glob = full.endswith("::*")
                if glob:
                    full = full[:-3]
                segs = absolute(full, scope(m.start()), prefix, aliases)
                if segs is None:
                    continue
                if not glob and name:
                    aliases[name] = segs
                target = resolve(segs, modules)
                if target is not None:
                    refs.append(target)
        use_spans = [(m.start(), m.end()) for m in uses]
        for m in PATH_RE.finditer(code):
            if any(a <= m.start() < b for a, b in use_spans):
                continue
            segs = absolute(m.group(1), scope(m.start()), prefix, aliases)
            if segs is None:
                continue
            target = resolve(segs, modules)
            if target is not None:
                refs.append(target)
        for target in refs:
            if target in ("", "bin", "lib", "bin::lib") or target == mod:
                continue
            edges.setdefault(mod, set()).add(target)

    errors = []
    for a, targets in sorted(edges.items()):
        ra = layer_of(a)
        if ra is None:
            errors.append(f"{a}: in no layer (add it to LAYERS in scripts/layers.py)")
            continue
        for b in sorted(targets):
            rb = layer_of(b)
            if rb is None:
                continue
            if rb > ra:
                errors.append(
                    f"upward: {a} ({LAYERS[ra][0]}) uses {b} ({LAYERS[rb][0]})"
                )
    for m in sorted(files):
        if layer_of(m) is None and not m.endswith("lib"):
            msg = f"{m}: in no layer (add it to LAYERS in scripts/layers.py)"
            if msg not in errors:
                errors.append(msg)

    # Circles between files (Tarjan's strongly connected components).
    index, low, on, stack, comps = {}, {}, set(), [], []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in sorted(set(edges) | {t for ts in edges.values() for t in ts}):
        if v not in index:
            visit(v)
    for comp in comps:
        errors.append("circle: " + " <-> ".join(comp))

    if "--graph" in sys.argv:
        for a, targets in sorted(edges.items()):
            for b in sorted(targets):
                print(f"{a} -> {b}")
    if errors:
        print("layering check: FAILED", file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        print(
            f"({len(errors)} problems; the layers are in scripts/layers.py, bottom first)",
            file=sys.stderr,
        )
        return 1
    n = sum(len(t) for t in edges.values())
    print(f"layering check: {len(files)} modules, {n} references, every one looks down, no circles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
