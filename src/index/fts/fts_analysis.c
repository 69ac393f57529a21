/*
 * fts_analysis.c - the per-column analysis settings (fts.h, "analysis"):
 * names, the built-in stop word lists, the user's lists, serialization,
 * and the identity a region records.
 *
 * The built-in lists are short lists of function words (articles,
 * pronouns, auxiliaries, conjunctions, prepositions), written casefolded
 * as the tokenizers emit them. English is Lucene's classic 33-word set,
 * which upstream infino's stopwords="english" drops as well, so the two
 * engines index the same terms.
 */
#include "fts_int.h"

#include "util/alloc.h"
#include "util/crc32c.h"
#include "util/doc.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Snowball's languages as libstemmer 2.2 names them. Ids are stored in
 * regions and the catalog: append only. */
static const char *const lang_names[FTS_N_LANGS + 1] = {
    NULL,        "arabic",     "armenian", "basque",     "catalan",
    "danish",    "dutch",      "english",  "finnish",    "french",
    "german",    "greek",      "hindi",    "hungarian",  "indonesian",
    "irish",     "italian",    "lithuanian", "nepali",   "norwegian",
    "porter",    "portuguese", "romanian", "russian",    "serbian",
    "spanish",   "swedish",    "tamil",    "turkish",    "yiddish",
};

/* Sorted bytewise (the lookup is a binary search; fts_analysis_test
 * checks the order). */
static const char *const stop_english[] = {
    "a",    "an",   "and",  "are",   "as",    "at",    "be",
    "but",  "by",   "for",  "if",    "in",    "into",  "is",
    "it",   "no",   "not",  "of",    "on",    "or",    "such",
    "that", "the",  "their", "then", "there", "these", "they",
    "this", "to",   "was",  "will",  "with",
};
static const char *const stop_french[] = {
    "au",   "aux",  "avec", "ce",   "ces",  "dans", "de",   "des",
    "du",   "elle", "en",   "et",   "eux",  "il",   "ils",  "je",
    "la",   "le",   "les",  "leur", "lui",  "ma",   "mais", "me",
    "mes",  "moi",  "mon",  "ne",   "nos",  "notre", "nous", "on",
    "ou",   "par",  "pas",  "pour", "qu",   "que",  "qui",  "sa",
    "se",   "ses",  "son",  "sur",  "ta",   "te",   "tes",  "toi",
    "ton",  "tu",   "un",   "une",  "vos",  "votre", "vous",
};
static const char *const stop_german[] = {
    "aber", "als",  "am",   "an",    "auch",  "auf",  "aus",  "bei",
    "bin",  "bis",  "das",  "dass",  "dem",   "den",  "der",  "des",
    "die",  "du",   "ein",  "eine",  "einem", "einen", "einer", "eines",
    "er",   "es",   "für",  "hat",   "ich",   "ihr",  "im",   "in",
    "ist",  "mit",  "nach", "nicht", "noch",  "oder", "sie",  "sind",
    "so",   "um",   "und",  "von",   "vor",   "war",  "wie",  "wir",
    "zu",   "zum",  "zur",
};
static const char *const stop_spanish[] = {
    "a",    "al",   "como", "con",  "de",   "del",  "el",   "ella",
    "en",   "es",   "esta", "este", "ha",   "la",   "las",  "le",
    "lo",   "los",  "mas",  "me",   "mi",   "no",   "o",    "para",
    "pero", "por",  "que",  "se",   "si",   "sin",  "su",   "sus",
    "te",   "tu",   "un",   "una",  "y",    "ya",   "yo",
};
static const char *const stop_italian[] = {
    "a", "al", "alla", "che", "chi", "con", "da", "dal",
    "dei", "del", "della", "di", "e", "gli", "ha", "i",
    "il", "in", "io", "la", "le", "lo", "ma", "mi",
    "ne", "nel", "nella", "non", "o", "per", "si", "su",
    "sua", "suo", "tu", "un", "una", "uno", "è",
};
static const char *const stop_portuguese[] = {
    "a", "ao", "aos", "as", "com", "como", "da", "das",
    "de", "do", "dos", "e", "ela", "ele", "em", "eu",
    "lhe", "mais", "mas", "me", "na", "nas", "no", "nos",
    "não", "o", "os", "ou", "para", "pela", "pelo", "por",
    "que", "se", "sem", "seu", "sua", "um", "uma", "é",
};
static const char *const stop_dutch[] = {
    "aan",  "al",   "als",  "bij",  "dan",  "dat",  "de",   "die",
    "dit",  "een",  "en",   "er",   "het",  "hij",  "ik",   "in",
    "is",   "je",   "met",  "na",   "niet", "of",   "om",   "op",
    "te",   "tot",  "uit",  "van",  "voor", "was",  "wat",  "we",
    "wie",  "zij",  "zijn", "zo",
};

struct stop_list {
    unsigned lang;
    const char *const *words;
    size_t n;
};
#define LIST(id, a) {id, a, sizeof a / sizeof a[0]}
static const struct stop_list stop_lists[] = {
    LIST(7, stop_english), LIST(9, stop_french),     LIST(10, stop_german),
    LIST(25, stop_spanish), LIST(16, stop_italian), LIST(21, stop_portuguese),
    LIST(6, stop_dutch),
};
#undef LIST

const char *fts_lang_name(unsigned id)
{
    return id >= 1 && id <= FTS_N_LANGS ? lang_names[id] : NULL;
}

unsigned fts_lang_id(const char *name)
{
    for (unsigned i = 1; name != NULL && i <= FTS_N_LANGS; i++)
        if (strcasecmp(name, lang_names[i]) == 0)
            return i;
    return 0;
}

static const struct stop_list *stop_list_of(unsigned lang)
{
    for (size_t i = 0; i < sizeof stop_lists / sizeof stop_lists[0]; i++)
        if (stop_lists[i].lang == lang)
            return &stop_lists[i];
    return NULL;
}

bool fts_lang_has_stopwords(unsigned id)
{
    return stop_list_of(id) != NULL;
}

void fts_builtin_stop_words(unsigned lang, const char *const **words_out,
                            size_t *n_out)
{
    const struct stop_list *l = stop_list_of(lang);

    *words_out = l ? l->words : NULL;
    *n_out = l ? l->n : 0;
}

const char *fts_base_name(enum fts_base b)
{
    return b == FTS_BASE_STANDARD ? "standard" : "alnum";
}

infino_status fts_base_parse(enum fts_base *out, const char *name)
{
    if (name != NULL && strcasecmp(name, "standard") == 0)
        *out = FTS_BASE_STANDARD;
    else if (name != NULL && strcasecmp(name, "alnum") == 0)
        *out = FTS_BASE_ALNUM;
    else
        return err_set(INFINO_ERR_INVALID,
                       "unknown analyzer '%s' (valid: 'standard', 'alnum')",
                       name ? name : "(null)");
    return INFINO_OK;
}

static int cmp_words(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

bool fts_stop_word_in(const char *const *words, size_t n, const uint8_t *t,
                      size_t len)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *w = words[mid];
        size_t wl = strlen(w);
        int c = memcmp(w, t, wl < len ? wl : len);
        if (c == 0)
            c = wl < len ? -1 : wl > len;
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

struct one_word {
    char *word; /* owned */
    size_t n;
};

static infino_status take_word(const uint8_t *t, size_t len, void *payload)
{
    struct one_word *o = payload;

    if (o->n++ == 0 && (o->word = mem_alloc(len + 1)) != NULL) {
        memcpy(o->word, t, len);
        o->word[len] = '\0';
    } else if (o->n == 1) {
        return err_nomem();
    }
    return INFINO_OK;
}

void fts_analysis_free(struct fts_analysis *a)
{
    for (size_t i = 0; i < a->n_stop_words; i++)
        mem_free(a->stop_words[i]);
    mem_free(a->stop_words);
    memset(a, 0, sizeof *a);
}

infino_status fts_analysis_set_stop_words(struct fts_analysis *a,
                                          const char *const *words, size_t n)
{
    struct fts_analysis base = {.base = a->base};
    struct fts_tokenizer *tk = NULL;
    char **list = NULL;
    size_t m = 0;
    infino_status st;

    CHECK(fts_tokenizer_new(&tk, &base));
    if (n > 0 && (list = mem_calloc(n, sizeof *list)) == NULL) {
        st = err_nomem();
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        struct one_word o = {NULL, 0};
        const char *w = words[i] ? words[i] : "";
        st = fts_tokenize_base(tk, w, strlen(w), take_word, &o);
        if (st != INFINO_OK) {
            mem_free(o.word);
            goto fail;
        }
        if (o.n != 1) {
            mem_free(o.word);
            st = err_set(INFINO_ERR_INVALID,
                         "stop word '%s' is %zu tokens under the %s analyzer"
                         "; each stop word must be exactly one",
                         w, o.n, fts_base_name(a->base));
            goto fail;
        }
        list[m++] = o.word;
    }
    qsort(list, m, sizeof *list, cmp_words);
    n = m;
    m = 0;
    for (size_t i = 0; i < n; i++) { /* unique */
        if (m > 0 && strcmp(list[m - 1], list[i]) == 0)
            mem_free(list[i]);
        else
            list[m++] = list[i];
    }
    fts_tokenizer_free(tk);
    for (size_t i = 0; i < a->n_stop_words; i++)
        mem_free(a->stop_words[i]);
    mem_free(a->stop_words);
    a->stop_words = list;
    a->n_stop_words = m;
    a->stop_lang = FTS_STOP_USER;
    return INFINO_OK;
fail:
    for (size_t i = 0; i < m; i++)
        mem_free(list[i]);
    mem_free(list);
    fts_tokenizer_free(tk);
    return st;
}

infino_status fts_analysis_copy(struct fts_analysis *out,
                                const struct fts_analysis *a)
{
    memset(out, 0, sizeof *out);
    out->base = a->base;
    out->stemmer = a->stemmer;
    out->stop_lang = a->stop_lang;
    if (a->n_stop_words == 0)
        return INFINO_OK;
    out->stop_words = mem_calloc(a->n_stop_words, sizeof *out->stop_words);
    if (out->stop_words == NULL)
        return err_nomem();
    for (size_t i = 0; i < a->n_stop_words; i++) {
        out->stop_words[i] = mem_strdup(a->stop_words[i]);
        if (out->stop_words[i] == NULL) {
            out->n_stop_words = i;
            fts_analysis_free(out);
            return err_nomem();
        }
    }
    out->n_stop_words = a->n_stop_words;
    return INFINO_OK;
}

bool fts_analysis_equal(const struct fts_analysis *a,
                        const struct fts_analysis *b)
{
    if (a->base != b->base || a->stemmer != b->stemmer ||
        a->stop_lang != b->stop_lang || a->n_stop_words != b->n_stop_words)
        return false;
    for (size_t i = 0; i < a->n_stop_words; i++)
        if (strcmp(a->stop_words[i], b->stop_words[i]) != 0)
            return false;
    return true;
}

infino_status fts_analysis_describe(struct buf *out,
                                    const struct fts_analysis *a)
{
    infino_status st = buf_printf(out, "%s", fts_base_name(a->base));

    if (st == INFINO_OK && a->stemmer != 0)
        st = buf_printf(out, ", stemmer %s", fts_lang_name(a->stemmer));
    if (st == INFINO_OK && a->stop_lang == FTS_STOP_USER)
        st = buf_printf(out, ", %zu stop words", a->n_stop_words);
    else if (st == INFINO_OK && a->stop_lang != 0)
        st = buf_printf(out, ", stopwords %s", fts_lang_name(a->stop_lang));
    return st;
}

/* Catalog encoding: u8 base | u8 stemmer | u8 stop_lang | uvarint n |
 * n x bytes word (FTS_STOP_USER only). */
infino_status fts_analysis_encode(struct buf *out,
                                  const struct fts_analysis *a)
{
    uint8_t head[3] = {(uint8_t)a->base, a->stemmer, a->stop_lang};
    infino_status st = buf_append(out, head, sizeof head);

    if (st == INFINO_OK)
        st = buf_put_uvarint(out, a->n_stop_words);
    for (size_t i = 0; st == INFINO_OK && i < a->n_stop_words; i++)
        st = doc_put_bytes(out, a->stop_words[i], strlen(a->stop_words[i]));
    return st;
}

infino_status fts_analysis_decode(struct fts_analysis *out, struct rd *r)
{
    uint8_t base, stem, stop;
    uint64_t n;
    infino_status st;

    memset(out, 0, sizeof *out);
    if (rd_u8(r, &base) != 0 || rd_u8(r, &stem) != 0 || rd_u8(r, &stop) != 0 ||
        rd_uvarint(r, &n) != 0 || base > FTS_BASE_STANDARD ||
        stem > FTS_N_LANGS ||
        (stop != FTS_STOP_USER && stop != 0 && !fts_lang_has_stopwords(stop)) ||
        (stop != FTS_STOP_USER && n != 0) || n > rd_left(r))
        return err_set(INFINO_ERR_CORRUPT, "bad full-text analysis record");
    out->base = (enum fts_base)base;
    out->stemmer = stem;
    out->stop_lang = stop;
    if (n == 0)
        return INFINO_OK;
    out->stop_words = mem_calloc((size_t)n, sizeof *out->stop_words);
    if (out->stop_words == NULL)
        return err_nomem();
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *p;
        size_t len;
        char *w;
        if (doc_get_bytes(r, &p, &len) != 0 || len == 0 ||
            memchr(p, '\0', len) != NULL) {
            st = err_set(INFINO_ERR_CORRUPT, "bad stop word in analysis");
            goto fail;
        }
        if ((w = mem_alloc(len + 1)) == NULL) {
            st = err_nomem();
            goto fail;
        }
        memcpy(w, p, len);
        w[len] = '\0';
        out->stop_words[out->n_stop_words++] = w;
        if (i > 0 && strcmp(out->stop_words[i - 1], w) >= 0) {
            st = err_set(INFINO_ERR_CORRUPT, "unsorted stop words in analysis");
            goto fail;
        }
    }
    return INFINO_OK;
fail:
    fts_analysis_free(out);
    return st;
}

void fts_analysis_id_of(struct fts_analysis_id *out,
                        const struct fts_analysis *a)
{
    uint32_t crc = 0;

    if (a->stop_lang == FTS_STOP_USER)
        for (size_t i = 0; i < a->n_stop_words; i++)
            crc = crc32c_extend(crc, a->stop_words[i],
                                strlen(a->stop_words[i]) + 1);
    out->base = (uint8_t)a->base;
    out->stemmer = a->stemmer;
    out->stop_lang = a->stop_lang;
    out->stop_crc = crc;
}

bool fts_analysis_id_equal(const struct fts_analysis_id *a,
                           const struct fts_analysis_id *b)
{
    return a->base == b->base && a->stemmer == b->stemmer &&
           a->stop_lang == b->stop_lang && a->stop_crc == b->stop_crc;
}
