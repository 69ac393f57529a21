/*
 * fts_fuzz_seeds.c - writes the seed inputs of the fts fuzz targets:
 * small valid regions (full and short postings blocks, inline terms,
 * Unicode, empty docs, terms longer than 127 and 255 bytes sharing
 * prefixes), their term summaries, and query strings.
 * Deterministic. Usage: fts_fuzz_seeds CORPUS_DIR  (e.g. fuzz/corpus)
 * The corpus's v1-seed-*.bin regions and summaries were written by format
 * version 1 (before long terms) and are kept as they are: the reader still
 * reads that version, so it stays under the fuzzers; so are v2-seed-*.bin,
 * the same seeds as written before format 4 (versions 2 and 3 share that
 * layout: no checks section, 16-byte block index entries). pos-seed-*.bin
 * are format 5 regions (positions), for fuzz_fts_positions and
 * fuzz_fts_region.
 */
#include "index/fts/fts.h"
#include "util/alloc.h"
#include "util/buf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void write_file(const char *dir, const char *name, const void *p,
                       size_t n)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        exit(1);
    }
}

static void make_dir(const char *root, const char *sub, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", root, sub);
    if (mkdir(out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: %s\n", out, strerror(errno));
        exit(1);
    }
}

static const char *const words[] = {
    "the", "a", "quick", "fox", "dog", "caf\xc3\xa9", "CAFE\xcc\x81",
    "\xe6\x97\xa5\xe6\x9c\xac", "42", "x1", "na\xc3\xafve", "zebra",
};

/* Appends a word of `len` bytes from a family sharing long prefixes. */
static void long_word(struct buf *b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf_put_u8(b, (uint8_t)(i < 250 ? 'a' : 'a' + (i * 7 + len) % 3));
}

/* One region of n_docs docs with `vocab` distinct words; `common` puts
 * "the" in every doc so it gets full 128-doc blocks; `longs` mixes in
 * words of 120..700 bytes. */
static void region(struct buf *out, struct buf *summary, uint32_t n_docs,
                   size_t vocab, int common, int longs, bool positions)
{
    struct fts_writer_opts o = {0, NULL, NULL, positions};
    struct fts_writer *w;
    struct store_sink *sink;
    uint8_t *data;
    size_t len;

    if (fts_writer_new(&w, &o) != INFINO_OK)
        exit(1);
    for (uint32_t d = 0; d < n_docs; d++) {
        struct buf doc = {0};
        uint64_t n = next() % 6;
        if (common)
            buf_append_str(&doc, "the ");
        for (uint64_t i = 0; i < n; i++) {
            if (longs && next() % 2)
                long_word(&doc, 120 + (size_t)(next() % 12) * 50);
            else
                buf_append_str(&doc, words[next() % vocab]);
            buf_append_str(&doc, i % 2 ? ", " : " ");
        }
        if (next() % 7 == 0)
            buf_printf(&doc, "id%u", d);
        if (next() % 5 != 0 &&
            fts_writer_add(w, d, doc.data, doc.len) != INFINO_OK)
            exit(1);
        buf_free(&doc);
    }
    if (store_sink_open_memory(&sink, "seed") != INFINO_OK ||
        fts_writer_finish(w, sink, n_docs, NULL, summary) != INFINO_OK ||
        store_sink_take_memory(sink, &data, &len) != INFINO_OK)
        exit(1);
    buf_append(out, data, len);
    mem_free(data);
    fts_writer_free(w);
}

int main(int argc, char **argv)
{
    static const char *const queries[] = {
        "quick fox", "-dog cat", "Caf\xc3\xa9 -na\xc3\xafve   \xe6\x97\xa5",
        "a\xff\xfe b -", "\xef\xbc\xa1\xef\xbc\xa2 \xe2\x85\xab \xc2\xbd",
        "e\xcc\x81t\xc3\xa9 \xe0\xa4\xb9\xe0\xa4\xbf", "--x -y- z\xe3\x80\x80w",
    };
    static const struct {
        uint32_t n_docs;
        size_t vocab;
        int common, longs;
    } shapes[] = {
        {0, 1, 0, 0},  {1, 3, 0, 0},   {5, 12, 0, 0},  {40, 6, 0, 0},
        {150, 4, 1, 0}, {300, 12, 1, 0}, {129, 2, 1, 0}, {20, 12, 0, 0},
        {3, 2, 0, 1},  {60, 6, 0, 1},  {140, 3, 1, 1},
    };
    char dir_r[4096], dir_s[4096], dir_q[4096], dir_p[4096], name[64];
    struct buf long_query = {0};

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    make_dir(argv[1], "fuzz_fts_region", dir_r, sizeof dir_r);
    make_dir(argv[1], "fuzz_fts_summary", dir_s, sizeof dir_s);
    make_dir(argv[1], "fuzz_fts_query", dir_q, sizeof dir_q);
    make_dir(argv[1], "fuzz_fts_positions", dir_p, sizeof dir_p);
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        struct buf r = {0}, s = {0};
        region(&r, &s, shapes[i].n_docs, shapes[i].vocab, shapes[i].common,
               shapes[i].longs, false);
        snprintf(name, sizeof name, "seed-%zu.bin", i);
        write_file(dir_r, name, r.data, r.len);
        write_file(dir_s, name, s.data, s.len);
        buf_free(&r);
        buf_free(&s);
    }
    for (size_t i = 0; i < sizeof queries / sizeof *queries; i++) {
        snprintf(name, sizeof name, "seed-%zu.txt", i);
        write_file(dir_q, name, queries[i], strlen(queries[i]));
    }
    /* long tokens, ASCII and Unicode, with a NUL between them */
    long_word(&long_query, 300);
    buf_append(&long_query, " -\0", 3);
    for (int i = 0; i < 140; i++)
        buf_append_str(&long_query, "\xc3\x89");
    snprintf(name, sizeof name, "seed-%zu.txt",
             sizeof queries / sizeof *queries);
    write_file(dir_q, name, long_query.data, long_query.len);
    buf_free(&long_query);
    /* format 5: the same shapes with positions (after the others, so the
     * older seeds keep their bytes), for both region fuzzers */
    for (size_t i = 1; i < sizeof shapes / sizeof *shapes; i += 2) {
        struct buf r = {0}, s = {0};
        region(&r, &s, shapes[i].n_docs, shapes[i].vocab, shapes[i].common,
               shapes[i].longs, true);
        snprintf(name, sizeof name, "pos-seed-%zu.bin", i);
        write_file(dir_p, name, r.data, r.len);
        write_file(dir_r, name, r.data, r.len);
        buf_free(&r);
        buf_free(&s);
    }
    return 0;
}
