#!/usr/bin/env python3
"""A corpus of real English prose for the BM25 benchmarks, made at bench
time from the documentation installed on this machine (never committed):

- manual pages: /usr/share/man/man1..man8 (English only; `.so` redirects
  and symbolic links skipped; the google-cloud-cli pages `gcloud*` are
  skipped too: 16K pages generated from one template, not from Debian's
  archive, and not on every machine);
- GNU info manuals: /usr/share/info (coreutils, grep, sed, find, the GNU
  coding standards of the package gnu-standards, ...; the Python manual
  there is skipped, its HTML is read instead);
- HTML: the Python 3 manual (package python3-doc) and the Debian Reference
  (package debian-reference-en). bench/setup.sh installs those packages
  with manpages and manpages-dev.

Each source is cut into sections at its own headings (`.SH`/`.SS` of a man
page, underlined titles of an info node, <h1>..<h6> of an HTML page); a
section becomes one or more documents of consecutive paragraphs whose
target lengths are drawn (seeded) from a log-normal law, median 48 tokens,
so documents run from a few words to a few thousand (a paragraph is never
cut). The first document of a section starts with its heading. Code blocks
(<pre>, tables of roff) are left out; exact duplicate documents are dropped.

Text normalization, so that the three engines' analyzers see the same
tokens (ours "standard" = UAX #29 words, upstream's default, tantivy's
"default" = runs of alphanumerics): letters are folded to ASCII (NFKD,
combining marks dropped, any other non-ASCII character becomes a space), a
single punctuation character between two letters or digits becomes a space
("don't" -> "don t", "3.14" -> "3 14", "foo_bar" -> "foo bar"), underscores
become spaces and tokens over 40 characters are dropped (tantivy drops
them). A token is then a maximal run of [A-Za-z0-9], lower-cased.

Output (bench/scratch/realtext/): corpus-<key>.arrow (doc_id int64, source
utf8, title utf8, body large_utf8), corpus-<key>.json (statistics and the
section headings, the query source). <key> hashes the list of source files
(path, size, mtime) and this file, so a changed machine makes a new corpus.

usage: realtext_corpus.py [--max-docs N]    (prints the statistics)
"""
from __future__ import annotations

import gzip
import hashlib
import html.parser
import json
import os
import pathlib
import re
import sys
import unicodedata

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import common  # noqa: E402

SEED = 20261207
MEDIAN_TOKENS = 48          # log-normal target length of a document
SIGMA = 1.25
MAX_TOKEN_LEN = 40
MAN_ROOT = pathlib.Path("/usr/share/man")
INFO_ROOT = pathlib.Path("/usr/share/info")
HTML_SOURCES = (("python-doc", "/usr/share/doc/python3.*/html"),
                ("debian-reference", "/usr/share/debian-reference"))
OUT_DIR = common.WORK_DIR / "realtext"

TOKEN_RE = re.compile(r"[a-z0-9]+")


def tokens(text):
    return TOKEN_RE.findall(text.lower())


# ---- normalization ------------------------------------------------------------

_MID = re.compile(r"(?<=[A-Za-z0-9])[^A-Za-z0-9\s](?=[A-Za-z0-9])")
_LONG = re.compile(r"[A-Za-z0-9]{%d,}" % (MAX_TOKEN_LEN + 1))
_NONASCII = re.compile(r"[^\x20-\x7e\n]")
_SPACES = re.compile(r"[ \t]+")


def normalize(text):
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
        text = _NONASCII.sub(" ", text)
    text = text.replace("\t", " ").replace("_", " ")
    text = _MID.sub(" ", text)
    text = _LONG.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


# ---- roff (manual pages) ----------------------------------------------------

_SPECIAL = {"em": " - ", "en": "-", "hy": "-", "mi": "-", "bu": " ",
            "aq": "'", "dq": '"', "lq": '"', "rq": '"', "oq": "'",
            "cq": "'", "co": "(c)", "rg": "(R)", "ti": "~", "ha": "^",
            "rs": "\\", "ga": "`", "sl": "/", "ba": "|", "lB": "[",
            "rB": "]", "lC": "{", "rC": "}", "la": "<", "ra": ">",
            "Lq": '"', "Rq": '"', "R": "(R)", "Tm": "(TM)", "tm": "(TM)"}
_ESC = re.compile(r"""\\(?:
      f(?:\[[^\]]*\]|\(..|.)           # font
    | [sS][+-]?(?:\[[^\]]*\]|\(..|'[^']*'|\d\d?)   # size
    | \((..)                           # \(xx special character
    | \[([^\]]*)\]                     # \[name]
    | \*(?:\((..)|\[([^\]]*)\]|(.))    # string interpolation
    | [nN](?:\[[^\]]*\]|\(..|.)        # number register
    | [hvwlLoDbxXZSRABC]'[^']*'        # escapes with a quoted argument
    | [kgmMYVF$](?:\[[^\]]*\]|\(..|.)  # others with a name
    | (.)                              # any other escaped character
)""", re.X)
_MDOC = frozenset(
    "Ad Ap Ar At Bc Bf Bk Bl Bo Bq Brc Bro Brq Bsx Bt Bx Cd Cm D1 Db Dc Dl "
    "Do Dq Dv Dx Ec Ed Ef Ek El Em En Eo Er Es Ev Ex Fa Fc Fd Fl Fn Fo Fr "
    "Ft Fx Hf Ic In It Lb Li Lk Lp Me Ms Mt Nd Nm No Ns Nx Oc Oo Op Os Ot "
    "Ox Pa Pc Pf Po Pp Pq Qc Ql Qo Qq Re Rs Rv Sc Sm So Sq St Sx Sy Ta Tn "
    "Ud Ux Va Vt Xc Xo Xr".split())
_TEXT_MACROS = frozenset("B I BR RB BI IB IR RI SM SB IP TQ UR MT OP".split())
_BREAK_MACROS = frozenset("PP LP P TP IP HP sp br RS RE TQ Pp Lp Bl El It "
                          "Bd Ed D1 Dl nf fi EX EE".split())


def _esc(m):
    for g in (1, 2):
        if m.group(g) is not None:
            return _SPECIAL.get(m.group(g), " ")
    for g in (3, 4, 5):
        if m.group(g) is not None:
            return _SPECIAL.get(m.group(g), "")
    c = m.group(6)
    if c is None:
        return ""
    return {"e": "\\", "&": "", "|": "", "^": "", "~": " ", " ": " ",
            "0": " ", "c": "", "%": "", ":": "", "/": "", ",": "", "t": " ",
            '"': "", "}": "", "{": "", "z": "", "!": "", "d": "", "u": "",
            "r": "", "p": ""}.get(c, c)


def roff_text(s):
    i = s.find('\\"')
    if i >= 0:
        s = s[:i]
    return _ESC.sub(_esc, s)


def _macro_args(rest):
    out, cur, q = [], [], False
    for ch in rest:
        if ch == '"':
            q = not q
        elif ch in " \t" and not q:
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out


def parse_man(text):
    """[(heading, [paragraph, ...])] of one manual page."""
    sections, heading, paras, cur = [], None, [], []
    skip_until = None
    tbl_format = False

    def flush_para():
        if cur:
            paras.append(" ".join(cur))
            cur.clear()

    def flush_section():
        flush_para()
        if heading is not None or paras:
            sections.append((heading or "", list(paras)))
        paras.clear()

    pending_heading = False
    for raw in text.split("\n"):
        if skip_until is not None:
            if raw.startswith(skip_until):
                skip_until = None
            continue
        if tbl_format:
            if raw.rstrip().endswith("."):
                tbl_format = False
            continue
        if raw.startswith((".", "'")):
            parts = raw[1:].strip().split(None, 1)
            if not parts:
                continue
            name, rest = parts[0], (parts[1] if len(parts) > 1 else "")
            if name.startswith('\\"'):
                continue
            if name in ("SH", "SS", "Sh", "Ss"):
                flush_section()
                heading = " ".join(_macro_args(roff_text(rest)))
                pending_heading = not heading
                continue
            if name == "de" or name == "de1" or name == "am":
                skip_until = ".."
                continue
            if name == "TS":
                tbl_format = True
                continue
            if name in ("EQ",):
                skip_until = ".EN"
                continue
            if name in _BREAK_MACROS:
                flush_para()
            if name in _TEXT_MACROS:
                args = _macro_args(roff_text(rest))
                if name == "IP":
                    args = args[:1]
                if args:
                    cur.append(("".join(args) if len(name) == 2 and name
                                not in ("SM", "SB", "IP", "TQ", "UR", "MT",
                                        "OP") else " ".join(args)))
            elif name in _MDOC and name not in ("Bl", "El", "Bd", "Ed", "Sm", "Bk",
                                                "Ek", "Bf", "Ef", "Db",
                                                "Os", "Dd", "Dt"):
                words = [w for w in _macro_args(roff_text(rest))
                         if w not in _MDOC]
                if words:
                    cur.append(" ".join(words))
            continue
        line = roff_text(raw).strip()
        if pending_heading:
            heading, pending_heading = line, False
            continue
        if not line:
            flush_para()
            continue
        if "\t" in raw and tbl_format is False:
            line = line.replace("\t", " ")
        cur.append(line)
    flush_section()
    return sections


def man_files():
    out = []
    for sec in range(1, 9):
        d = MAN_ROOT / f"man{sec}"
        if not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            if p.is_symlink() or not p.is_file():
                continue
            if p.name.startswith("gcloud"):
                continue
            out.append(p)
    return out


def read_text(p):
    data = p.read_bytes()
    if p.suffix == ".gz":
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


# ---- info ---------------------------------------------------------------------

_UNDERLINE = re.compile(r"^([*=\-.])\1{2,}$")
_MENU_ITEM = re.compile(r"^\* [^:]*::")


def info_files():
    if not INFO_ROOT.is_dir():
        return []
    return [p for p in sorted(INFO_ROOT.iterdir())
            if ".info" in p.name and p.is_file()
            and not p.name.startswith("python")]


def parse_info(text):
    sections = []
    for node in text.split("\x1f"):
        lines = node.split("\n")
        if not lines or not lines[0].strip() and len(lines) > 1:
            lines = lines[1:]
        if not lines or not lines[0].startswith("File:"):
            continue
        body = lines[1:]
        heading, paras, cur = "", [], []
        in_menu = False
        i = 0
        while i < len(body):
            ln = body[i].rstrip()
            nxt = body[i + 1].strip() if i + 1 < len(body) else ""
            if ln and _UNDERLINE.match(nxt) and abs(len(nxt) - len(ln)) <= 3:
                if cur:
                    paras.append(" ".join(cur))
                    cur = []
                if heading or paras:
                    sections.append((heading, paras))
                heading, paras = ln.strip(), []
                i += 2
                continue
            if ln.startswith("* Menu:"):
                in_menu = True
            if not ln.strip():
                in_menu = False
                if cur:
                    paras.append(" ".join(cur))
                    cur = []
            elif not in_menu and not ln.startswith("     ") and \
                    not _MENU_ITEM.match(ln):
                cur.append(ln.strip())
            i += 1
        if cur:
            paras.append(" ".join(cur))
        if heading or paras:
            sections.append((heading, paras))
    return sections


# ---- HTML -----------------------------------------------------------------------

class _Html(html.parser.HTMLParser):
    SKIP = {"script", "style", "pre", "head", "nav", "table"}
    SKIP_CLASS = ("sphinxsidebar", "related", "footer", "navheader",
                  "navfooter", "toc", "headerlink", "highlight")
    VOID = {"br", "img", "meta", "link", "hr", "input", "wbr", "col",
            "area", "base", "source"}
    BLOCK = {"p", "li", "dd", "dt", "div", "tr", "br", "blockquote",
             "section", "ul", "ol", "dl", "td", "th", "caption"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []          # (tag, skipping)
        self.sections = []
        self.heading = None      # text of the current heading, or None
        self.in_h = None
        self.hbuf = []
        self.paras, self.cur = [], []

    def skipping(self):
        return bool(self.stack) and self.stack[-1][1]

    def _flush_para(self):
        if self.cur:
            t = " ".join("".join(self.cur).split())
            if t:
                self.paras.append(t)
            self.cur = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            if tag == "br":
                self._flush_para()
            return
        a = dict(attrs)
        cls = a.get("class") or ""
        skip = (self.skipping() or tag in self.SKIP
                or any(c in cls.split() for c in self.SKIP_CLASS)
                or a.get("role") == "navigation")
        self.stack.append((tag, skip))
        if skip:
            return
        if re.fullmatch(r"h[1-6]", tag):
            self._flush_para()
            if self.heading is not None or self.paras:
                self.sections.append((self.heading or "", self.paras))
            self.paras = []
            self.in_h, self.hbuf = tag, []
        elif tag in self.BLOCK:
            self._flush_para()

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        # pop to the matching tag (tolerates unclosed <p>, <li>)
        for j in range(len(self.stack) - 1, -1, -1):
            if self.stack[j][0] == tag:
                was_skip = self.stack[j][1]
                del self.stack[j:]
                break
        else:
            return
        if was_skip:
            return
        if tag == self.in_h:
            self.heading = " ".join("".join(self.hbuf).split())
            self.in_h = None
        elif tag in self.BLOCK:
            self._flush_para()

    def handle_data(self, data):
        if self.skipping():
            return
        (self.hbuf if self.in_h else self.cur).append(data)

    def result(self):
        self._flush_para()
        if self.heading is not None or self.paras:
            self.sections.append((self.heading or "", self.paras))
        return self.sections


def html_files():
    import glob

    out, roots = [], set()
    for name, pat in HTML_SOURCES:
        for root in sorted(glob.glob(pat)):
            real = os.path.realpath(root)
            if real in roots:           # python3.11-doc/html -> python3.11
                continue
            roots.add(real)
            for dirpath, dirs, files in os.walk(root):
                dirs.sort()
                for f in sorted(files):
                    if f.endswith(".html") and (name != "debian-reference"
                                                or f.endswith(".en.html")):
                        if f in ("genindex.html", "search.html",
                                 "py-modindex.html") or \
                                f.startswith("genindex-"):
                            continue
                        out.append((name, pathlib.Path(dirpath) / f))
    return out


def parse_html(text):
    p = _Html()
    p.feed(text)
    p.close()
    return p.result()


# ---- documents ------------------------------------------------------------------

def sources():
    s = [("man", p) for p in man_files()]
    s += [("info", p) for p in info_files()]
    s += html_files()
    return s


def corpus_key(srcs):
    h = hashlib.sha256(pathlib.Path(__file__).read_bytes())
    for kind, p in srcs:
        st = p.stat()
        h.update(f"{kind}\0{p}\0{st.st_size}\0{int(st.st_mtime)}\n".encode())
    return h.hexdigest()[:12]


def page_title(kind, p):
    n = p.name
    for suf in (".gz", ".html"):
        if n.endswith(suf):
            n = n[:-len(suf)]
    return n


def split_section(heading, paras, rng, out):
    """Appends (heading_of_first_doc, body) pieces of one section."""
    import math

    items = [(normalize(x), None) for x in paras]
    items = [(t, len(tokens(t))) for t, _ in items if t]
    h = normalize(heading)
    first = True
    i = 0
    while i < len(items) or (first and h):
        target = max(1, int(round(math.exp(rng.normal(math.log(MEDIAN_TOKENS),
                                                      SIGMA)))))
        buf, n = [], 0
        if first and h:
            buf.append(h)
            n += len(tokens(h))
        while i < len(items) and (n == 0 or n + items[i][1] <= target
                                  or n < target // 2):
            buf.append(items[i][0])
            n += items[i][1]
            i += 1
        if n:
            out.append((h if first else "", "\n".join(buf), n))
        first = False


def build(max_docs=None, log=print):
    """Writes the corpus (once per key) and returns (arrow path, stats)."""
    import numpy as np
    import pyarrow as pa

    srcs = sources()
    key = corpus_key(srcs)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"corpus-{key}.arrow"
    meta = OUT_DIR / f"corpus-{key}.json"
    if path.exists() and meta.exists():
        stats = json.loads(meta.read_text())
        if max_docs is None or stats["docs"] <= max_docs:
            return path, stats
    import time
    t0 = time.perf_counter()
    rng = np.random.default_rng(SEED)
    ids, kinds, titles, bodies, lens = [], [], [], [], []
    headings = {}          # normalized heading -> number of sections
    seen = set()
    per_source = {}
    skipped = {"so_redirect": 0, "empty": 0, "duplicate": 0}
    for kind, p in srcs:
        try:
            text = read_text(p)
        except (OSError, EOFError, ValueError):
            continue
        if kind == "man":
            if re.match(r"\s*\.so\s", text):
                skipped["so_redirect"] += 1
                continue
            secs = parse_man(text)
        elif kind == "info":
            secs = parse_info(text)
        else:
            secs = parse_html(text)
        title = page_title(kind, p)
        pieces = []
        for heading, paras in secs:
            split_section(heading, paras, rng, pieces)
        if not pieces:
            skipped["empty"] += 1
            continue
        src = kind if kind in ("man", "info") else f"html:{kind}"
        ps = per_source.setdefault(src, {"files": 0, "docs": 0, "tokens": 0})
        ps["files"] += 1
        for h, body, n in pieces:
            d = hashlib.blake2b(body.encode(), digest_size=12).digest()
            if d in seen:
                skipped["duplicate"] += 1
                continue
            seen.add(d)
            if h:
                headings[h] = headings.get(h, 0) + 1
            ids.append(len(ids))
            kinds.append(src)
            titles.append(f"{title}: {h}" if h else title)
            bodies.append(body)
            lens.append(n)
            ps["docs"] += 1
            ps["tokens"] += n
        if max_docs and len(ids) >= max_docs:
            break
    t = pa.table({"doc_id": pa.array(ids, pa.int64()),
                  "source": pa.array(kinds, pa.string()),
                  "title": pa.array(titles, pa.string()),
                  "body": pa.array(bodies, pa.large_string())})
    tmp = path.with_suffix(".tmp")
    with pa.OSFile(str(tmp), "wb") as f:
        with pa.ipc.new_file(f, t.schema) as w:
            w.write_table(t, max_chunksize=common.BATCH_ROWS)
    os.replace(tmp, path)
    L = np.array(lens)
    vocab = set()
    for b in bodies:
        vocab.update(tokens(b))
    stats = {
        "key": key, "docs": len(ids), "tokens": int(L.sum()),
        "vocabulary": len(vocab),
        "length_tokens": {"min": int(L.min()), "mean": float(L.mean()),
                          "p10": int(np.percentile(L, 10)),
                          "p50": int(np.percentile(L, 50)),
                          "p90": int(np.percentile(L, 90)),
                          "p99": int(np.percentile(L, 99)),
                          "max": int(L.max())},
        "length_histogram": {f"{lo}-{hi - 1}": int(((L >= lo) & (L < hi)).sum())
                             for lo, hi in ((1, 10), (10, 30), (30, 100),
                                            (100, 300), (300, 1000),
                                            (1000, 3000), (3000, 10**9))},
        "sources": per_source, "skipped": skipped,
        "source_files": len(srcs), "body_bytes": sum(map(len, bodies)),
        "distinct_headings": len(headings),
        "seconds": round(time.perf_counter() - t0, 1),
        "method": {"median_tokens": MEDIAN_TOKENS, "sigma": SIGMA,
                   "seed": SEED},
    }
    meta.write_text(json.dumps(dict(stats, headings=headings)))
    log(f"realtext: {len(ids):,} docs, {stats['tokens']:,} tokens, "
        f"vocabulary {len(vocab):,}, in {stats['seconds']} s -> "
        f"{common.where(path)}")
    return path, dict(stats, headings=headings)


def main():
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--max-docs", type=int)
    a = ap.parse_args()
    _, stats = build(a.max_docs)
    stats.pop("headings")
    print(json.dumps(stats, indent=1))


def saved_run(mode):
    """The input table and the queries bench_realtext.py saved for `mode`
    (quick indexes every second document, full all of them), with the
    folder that holds them; exits with a hint when it has not run."""
    import pyarrow as pa

    every = {"quick": 2, "full": 1}[mode]
    work = common.WORK_DIR / "realtext"
    src = sorted(work.glob(f"input-*-every{every}.arrow"))
    qfile = work / f"queries-{mode}.json"
    if not src or not qfile.exists():
        raise SystemExit(f"run bench_realtext.py --mode {mode} first (no "
                         f"input or queries in {common.where(work)})")
    table = pa.ipc.open_file(pa.memory_map(str(src[-1]))).read_all()
    return table, json.loads(qfile.read_text()), work


if __name__ == "__main__":
    main()

