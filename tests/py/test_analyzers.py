"""Analyzers (IndexSpec.fts analyzer / stopwords / stemmer, issue 15).

Oracles: hand-written token lists that follow UAX #29's rules (the C
suite runs Unicode's own WordBreakTest.txt against the segmenter), the
Python port of the Snowball stemmers (`snowballstemmer`, the same
algorithms as the libstemmer the engine links), and a brute-force BM25 on
upstream's scale over the analyzed tokens.
"""
from __future__ import annotations

import collections
import math
import random
import re

import pyarrow as pa
import pytest
import snowballstemmer

import infino

SCHEMA = pa.schema([("id", pa.int64()), ("body", pa.large_utf8())])

# Upstream 0.11.0's stopwords="english" (measured: exactly these 33 words
# are dropped; Lucene's classic English set).
ENGLISH_STOP = set(
    "a an and are as at be but by for if in into is it no not of on or such "
    "that the their then there these they this to was will with".split())


def table(tmp_path, name, docs, **fts):
    db = infino.connect(str(tmp_path))
    t = db.create_table(name, SCHEMA, infino.IndexSpec().fts("body", **fts))
    t.append(pa.table({"id": list(range(len(docs))),
                       "body": pa.array(docs, pa.large_utf8())}))
    return t


def hits(t, q: str, k: int = 100) -> set[int]:
    return set(t.bm25_search("body", q, k, projection=["id"]).column("id").to_pylist())


# (text, tokens the standard analyzer makes, strings that are not tokens)
CORPUS = [
    ("Don't stop: 3.14 u.s.a user_name e-mail foo@bar.com",
     ["don't", "stop", "3.14", "u.s.a", "user_name", "e", "mail", "foo", "bar.com"],
     ["don", "t", "3", "14", "usa", "user", "name", "bar"]),
    ("1,000,000 v2.0 x86_64 C++ .NET O'Neil",
     ["1,000,000", "v2.0", "x86_64", "c", "net", "o'neil"],
     ["1", "000", "v2", "x86", "64", "oneil", "o", "neil"]),
    # German: casefolding folds ß to ss; umlauts stay
    ("Die Straße führt über die Brücke", ["die", "strasse", "führt", "über", "brücke"],
     ["fuhrt", "ueber", "brucke"]),
    # French: an apostrophe between letters joins (UAX #29 WB6/WB7)
    ("L'homme et l'éducation nationale", ["l'homme", "et", "l'éducation", "nationale"],
     ["homme", "education"]),
    # Greek: final sigma and capital sigma fold to σ
    ("ΟΔΟΣ οδός", ["οδοσ", "οδόσ"], []),
    ("Москва — столица России", ["москва", "столица", "россии"], ["—"]),
    # Japanese: ideographs one each, katakana runs joined (WB13), hiragana one each
    ("日本語のテキスト", ["日", "本", "語", "の", "テキスト"], ["テ", "キ"]),
    ("北京大学", ["北", "京", "大", "学"], []),
    # Hangul syllables are ALetter: a word stays whole
    ("한국어 텍스트", ["한국어", "텍스트"], ["한"]),
    # Thai has no spaces and UAX #29 has no dictionary: one run
    ("ภาษาไทย", ["ภาษาไทย"], ["ภาษา"]),
    # Devanagari vowel signs (Extend) stay inside the word
    ("हिन्दी भाषा", ["हिन्दी", "भाषा"], ["ह"]),
    # NFKC: full-width letters, ligatures, roman numerals, superscripts
    ("ＡＢＣ ﬁle Ⅻ x²", ["abc", "file", "xii", "x2"], ["ﬁ"]),
    # pictographs are not words; ZWJ sequences do not glue words
    ("cat 🐈\u200d⬛ dog 👍🏽", ["cat", "dog"], ["🐈"]),
]


def test_standard_tokens_across_languages(tmp_path):
    t = table(tmp_path, "t", [text for text, _, _ in CORPUS])
    for i, (text, toks, not_toks) in enumerate(CORPUS):
        for tok in toks:
            assert i in hits(t, tok), (text, tok)
            # token_match finds the same rows
            by_bm25 = t.bm25_search("body", tok, 100).column("_id").to_pylist()
            assert set(t.token_match("body", tok).column("_id").to_pylist()) == set(by_bm25)
        for bad in not_toks:
            assert i not in hits(t, bad), (text, bad)
    # queries go through the same analysis: case and compatibility forms match
    assert hits(t, "STRASSE") == {2} and hits(t, "straße") == {2}
    assert hits(t, "ｆｉｌｅ") == {11}


def test_alnum_analyzer_keeps_the_old_tokens(tmp_path):
    t = table(tmp_path, "t", [CORPUS[0][0], "日本語のテキスト"], analyzer="alnum")
    assert hits(t, "don") == {0} and hits(t, "t") == {0}
    assert hits(t, "3") == {0} and hits(t, "user") == {0}
    assert hits(t, "don't") == {0}  # the query splits the same way
    assert hits(t, "日本語のテキスト") == {1} and hits(t, "日") == set()


STEM_WORDS = {
    "english": "run running runs runner connection connections connected connecting "
               "generously generous happiness happy cats cat studies studying caresses "
               "ponies relational conditional",
    "german": "häuser haus hauses laufen läuft gelaufen kinder kind schönheit schön",
    "french": "continuation continuer continué chevaux cheval mangeons manger",
    "russian": "книга книги книгой бежать бегу красивый красивая",
    "spanish": "corriendo correr corre niños niño cantaba cantar",
}


@pytest.mark.parametrize("lang", sorted(STEM_WORDS))
def test_stemmer_matches_snowball(tmp_path, lang):
    words = STEM_WORDS[lang].split()
    stem = snowballstemmer.stemmer(lang).stemWord
    t = table(tmp_path, "t", words, stemmer=lang)
    for w in words:
        want = {i for i, d in enumerate(words) if stem(d) == stem(w)}
        assert hits(t, w) == want, (lang, w, stem(w))
        assert t.count("body", w) == len(want)


def test_english_stopwords_as_upstream(tmp_path):
    extra = ["them", "cat", "will", "what", "THE"]
    words = sorted(ENGLISH_STOP) + extra
    t = table(tmp_path, "t", words, stopwords="english")
    for i, w in enumerate(words):
        assert hits(t, w) == (set() if w.lower() in ENGLISH_STOP else {i}), w
    # a stop word in a query counts for nothing
    cat = t.bm25_search("body", "cat", 5)
    the_cat = t.bm25_search("body", "the cat", 5)
    assert cat.column("_id").to_pylist() == the_cat.column("_id").to_pylist()
    assert cat.column("score").to_pylist() == the_cat.column("score").to_pylist()
    assert t.bm25_search("body", "the", 5).num_rows == 0


def test_other_stopword_lists(tmp_path):
    t = table(tmp_path, "fr", ["le chat", "la maison", "chat noir"], stopwords="french")
    assert hits(t, "le") == set() and hits(t, "chat") == {0, 2}
    assert hits(t, "le chat") == {0, 2}
    t = table(tmp_path, "own", ["foo bar", "Baz qux", "bar"], stopwords=["BAR", "qux", "bar"])
    assert hits(t, "bar") == set() and hits(t, "qux") == set()
    assert hits(t, "foo") == {0} and hits(t, "baz") == {1}
    with pytest.raises(ValueError, match="'two words' is 2 tokens"):
        table(tmp_path, "bad", ["x"], stopwords=["two words"])


def analyze(text: str, stop: set[str], stem) -> list[str]:
    # The corpus below is ASCII words and spaces: standard = lowercase split.
    out = []
    for w in text.lower().split():
        if w in stop:
            continue
        out.append(stem(w) if stem else w)
    return out


def test_bm25_with_analysis_matches_brute_force(tmp_path):
    """Scores on upstream's scale (no (k1 + 1) factor, repeated query terms
    count) over stemmed, stop-filtered tokens, against a brute force."""
    rnd = random.Random(15)
    stems = "connect run play walk jump read write talk"
    vocab = [w + suf for w in stems.split() for suf in ("", "s", "ed", "ing", "er")]
    vocab += sorted(ENGLISH_STOP) + ["apple", "banana", "cherry"]
    docs = [" ".join(rnd.choice(vocab) for _ in range(rnd.randint(0, 30)))
            for _ in range(400)]
    stem = snowballstemmer.stemmer("english").stemWord
    k1, b = 1.5, 0.6
    t = table(tmp_path, "t", docs, stemmer="english", stopwords="english", k1=k1, b=b)
    toks = [analyze(d, ENGLISH_STOP, stem) for d in docs]
    n_docs = sum(1 for x in toks if x)
    avgdl = sum(len(x) for x in toks) / n_docs
    for _ in range(60):
        q = " ".join(rnd.choice(vocab) for _ in range(rnd.randint(1, 4)))
        pos = collections.Counter(analyze(q, ENGLISH_STOP, stem))
        want = []
        for i, d in enumerate(toks):
            acc = 0
            for term, mult in pos.items():
                tf = d.count(term)
                if tf == 0:
                    continue
                df = sum(1 for x in toks if term in x)
                idf = math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
                acc += int(idf * mult * tf / (tf + k1 * (1 - b) + k1 * b * len(d) / avgdl)
                           * 2**40 + 0.5)
            if acc:
                want.append((-float(pa.scalar(acc / 2**40, pa.float32()).as_py()), i))
        want.sort()
        ids = t.bm25_search("body", q, 10, projection=["id"]).column("id").to_pylist()
        assert ids == [i for _, i in want[:10]], q
        got = t.bm25_search("body", q, 10)  # _id and score, in the same order
        assert got.column("score").to_pylist() == [-s for s, _ in want[:10]], q
        # the column's k1/b are what a search without its own uses
        same = t.bm25_search("body", q, 10, k1=k1, b=b)
        assert same.column("score").to_pylist() == got.column("score").to_pylist()


def test_analysis_is_kept_with_the_table(tmp_path):
    t = table(tmp_path, "t", ["The runners were running"], stemmer="english",
              stopwords="english")
    t2 = infino.connect(str(tmp_path)).open_table("t")
    assert hits(t2, "run") == {0} and hits(t2, "the") == set()
    t2.append(pa.table({"id": [1], "body": pa.array(["she runs"], pa.large_utf8())}))
    t2.optimize()
    assert hits(t2, "runs") == {0, 1}
    # SQL's search functions and filters analyze the query the same way
    got = infino.connect(str(tmp_path)).query_sql(
        "SELECT id FROM bm25_search('t', 'body', 'run', 10) ORDER BY id")
    assert got.column("id").to_pylist() == [0, 1]
    assert t2.count("body", "RUNNING") == 2


def test_fts_options_are_checked(tmp_path):
    with pytest.raises(ValueError, match='unknown analyzer "simple"'):
        infino.IndexSpec().fts("body", analyzer="simple")
    with pytest.raises(ValueError, match='unknown stemmer "klingon"'):
        infino.IndexSpec().fts("body", stemmer="klingon")
    with pytest.raises(ValueError, match='unknown stopwords "armenian"'):
        infino.IndexSpec().fts("body", stopwords="armenian")
    with pytest.raises(TypeError, match="stopwords"):
        infino.IndexSpec().fts("body", stopwords=[1, 2])
    with pytest.raises(ValueError, match="k1 and b together"):
        infino.IndexSpec().fts("body", k1=1.0)
    spec = infino.IndexSpec().fts("body", "alnum", k1=1.0, b=0.5, stopwords=["x"],
                                  stemmer="english")
    assert re.search(r"analyzer='alnum'.*k1=1\.0.*stopwords=\['x'\].*stemmer='english'",
                     repr(spec))


def test_schema_document_shows_the_analysis(tmp_path):
    """Connection.schema describes a full-text index as upstream 0.11.0 does
    (keys measured on it: analyzer, b, k1 as float32, kind, positions,
    stemmer and stopwords when set, stored), and a patch that creates a
    table takes the same keys."""
    db = infino.connect(str(tmp_path))
    db.create_table("t", SCHEMA, infino.IndexSpec().fts(
        "body", stemmer="english", stopwords="english", k1=1.5, b=0.5))
    (body,) = [f for f in db.schema("t")["fields"] if f["name"] == "body"]
    assert body["index"] == {"analyzer": "standard", "b": 0.5, "k1": 1.5, "kind": "fts",
                             "positions": False, "stemmer": "english",
                             "stopwords": "english", "stored": True}
    doc = db.schema("u", {"fields": [{"name": "x", "type": "large_utf8", "index": {
        "kind": "fts", "analyzer": "alnum", "stopwords": ["Foo", "bar"]}}]})
    assert doc["fields"][0]["index"] == {"analyzer": "alnum", "b": 0.75,
                                         "k1": 1.2000000476837158, "kind": "fts",
                                         "positions": False, "stopwords": ["bar", "foo"],
                                         "stored": True}
    u = db.open_table("u")
    u.append(pa.table({"x": pa.array(["foo don't", "bar"], pa.large_utf8())}))
    assert u.count("x", "don") == 1 and u.count("x", "foo") == 0
