/*
 * arrow_fuzz_seeds.c - writes the seed corpora of the Arrow fuzz targets.
 *
 * Usage: arrow_fuzz_seeds CORPUS_DIR   (normally fuzz/corpus)
 * Writes CORPUS_DIR/fuzz_arrow_ipc/seed_*.bin (IPC schema messages: ours
 * for a catalogue of schemas, and one written by pyarrow) and
 * CORPUS_DIR/fuzz_arrow_import/seed_*.bin (recipes for every node kind of
 * fuzz_arrow_import.c, from a fixed-seed generator). Deterministic.
 */
#include "format/arrow/arrow.h"
#include "util/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* pyarrow 26.0.1: pa.schema([id: int64 not null, text: large_string,
 * emb: fixed_size_list<item: float not null>[8] {dim: 8},
 * at: timestamp[us, tz=UTC]], metadata={k: v}).serialize() */
static const uint8_t pyarrow_msg[] =
    "\xff\xff\xff\xff\xd0\x01\x00\x00\x10\x00\x00\x00\x00\x00\x0a\x00"
    "\x0e\x00\x06\x00\x05\x00\x08\x00\x0a\x00\x00\x00\x00\x01\x04\x00"
    "\x10\x00\x00\x00\x00\x00\x0a\x00\x0c\x00\x00\x00\x04\x00\x08\x00"
    "\x0a\x00\x00\x00\x2c\x00\x00\x00\x04\x00\x00\x00\x01\x00\x00\x00"
    "\x04\x00\x00\x00\x50\xff\xff\xff\x10\x00\x00\x00\x04\x00\x00\x00"
    "\x01\x00\x00\x00\x76\x00\x00\x00\x01\x00\x00\x00\x6b\x00\x00\x00"
    "\x04\x00\x00\x00\x40\x01\x00\x00\x00\x01\x00\x00\x58\x00\x00\x00"
    "\x04\x00\x00\x00\x1c\xff\xff\xff\x00\x00\x01\x0a\x10\x00\x00\x00"
    "\x1c\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00"
    "\x61\x74\x00\x00\x08\x00\x0c\x00\x06\x00\x08\x00\x08\x00\x00\x00"
    "\x00\x00\x02\x00\x04\x00\x00\x00\x03\x00\x00\x00\x55\x54\x43\x00"
    "\x00\x00\x12\x00\x18\x00\x08\x00\x06\x00\x07\x00\x0c\x00\x00\x00"
    "\x10\x00\x14\x00\x12\x00\x00\x00\x00\x00\x01\x10\x18\x00\x00\x00"
    "\x50\x00\x00\x00\x08\x00\x00\x00\x14\x00\x00\x00\x01\x00\x00\x00"
    "\x48\x00\x00\x00\x03\x00\x00\x00\x65\x6d\x62\x00\x01\x00\x00\x00"
    "\x0c\x00\x00\x00\x08\x00\x0c\x00\x04\x00\x08\x00\x08\x00\x00\x00"
    "\x10\x00\x00\x00\x04\x00\x00\x00\x01\x00\x00\x00\x38\x00\x00\x00"
    "\x03\x00\x00\x00\x64\x69\x6d\x00\x00\x00\x06\x00\x08\x00\x04\x00"
    "\x06\x00\x00\x00\x08\x00\x00\x00\x94\xff\xff\xff\x00\x00\x00\x03"
    "\x10\x00\x00\x00\x1c\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00"
    "\x04\x00\x00\x00\x69\x74\x65\x6d\x00\x00\x06\x00\x08\x00\x06\x00"
    "\x06\x00\x00\x00\x00\x00\x01\x00\x10\x00\x14\x00\x08\x00\x06\x00"
    "\x07\x00\x0c\x00\x00\x00\x10\x00\x10\x00\x00\x00\x00\x00\x01\x14"
    "\x10\x00\x00\x00\x1c\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00"
    "\x04\x00\x00\x00\x74\x65\x78\x74\x00\x00\x00\x00\x04\x00\x04\x00"
    "\x04\x00\x00\x00\x10\x00\x14\x00\x08\x00\x00\x00\x07\x00\x0c\x00"
    "\x00\x00\x10\x00\x10\x00\x00\x00\x00\x00\x00\x02\x10\x00\x00\x00"
    "\x1c\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00"
    "\x69\x64\x00\x00\x08\x00\x0c\x00\x08\x00\x07\x00\x08\x00\x00\x00"
    "\x00\x00\x00\x01\x40\x00\x00\x00"
;

static int write_file(const char *dir, const char *name, const void *p,
                      size_t n)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n) {
        perror(path);
        if (f)
            fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

static struct ar_field leaf(const char *name, enum ar_type t, bool nullable)
{
    struct ar_field f;

    memset(&f, 0, sizeof f);
    f.name = mem_strdup(name);
    f.type = t;
    f.nullable = nullable;
    return f;
}

static struct ar_field nest(const char *name, enum ar_type t, bool nullable,
                            int32_t list_size, int n, ...)
{
    struct ar_field f = leaf(name, t, nullable);
    va_list ap;

    f.list_size = list_size;
    f.n_children = (size_t)n;
    f.children = mem_calloc((size_t)n, sizeof *f.children);
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        f.children[i] = va_arg(ap, struct ar_field);
    va_end(ap);
    return f;
}

static int ipc_seed(const char *dir, const char *name, struct ar_schema *s)
{
    struct buf b = {0};
    int rc = -1;

    if (ar_schema_to_ipc(&b, s) == INFINO_OK)
        rc = write_file(dir, name, b.data, b.len);
    buf_free(&b);
    ar_schema_free(s);
    return rc;
}

static int ipc_seeds(const char *dir)
{
    struct ar_schema s;
    int rc = 0;

    /* every leaf type, alternating nullability */
    memset(&s, 0, sizeof s);
    s.n_fields = AR_DATE32;
    s.fields = mem_calloc(s.n_fields, sizeof *s.fields);
    for (int t = AR_BOOL; t <= AR_DATE32; t++)
        s.fields[t - 1] = leaf("c", (enum ar_type)t, t % 2);
    rc |= ipc_seed(dir, "seed_leaves.bin", &s);

    /* parameters and nesting */
    memset(&s, 0, sizeof s);
    s.n_fields = 5;
    s.fields = mem_calloc(s.n_fields, sizeof *s.fields);
    s.fields[0] = leaf("ts", AR_TIMESTAMP, true);
    s.fields[0].unit = AR_NANO;
    s.fields[0].tz = mem_strdup("Europe/Paris");
    s.fields[1] = leaf("dec", AR_DECIMAL128, false);
    s.fields[1].precision = 38;
    s.fields[1].scale = 9;
    s.fields[2] = nest("emb", AR_FIXED_SIZE_LIST, true, 16, 1,
                       leaf("item", AR_FLOAT32, false));
    s.fields[3] = nest("l", AR_LARGE_LIST, true, 0, 1,
                       nest("item", AR_LIST, true, 0, 1,
                            leaf("item", AR_UTF8, true)));
    s.fields[4] = nest("st", AR_STRUCT, true, 0, 2, leaf("a", AR_INT8, true),
                       nest("b", AR_STRUCT, true, 0, 1,
                            leaf("c", AR_BINARY, true)));
    ar_schema_set_meta(&s, "pandas", "{\"index_columns\": []}", 21);
    rc |= ipc_seed(dir, "seed_nested.bin", &s);

    memset(&s, 0, sizeof s);
    rc |= ipc_seed(dir, "seed_empty.bin", &s);

    rc |= write_file(dir, "seed_pyarrow.bin", pyarrow_msg,
                     sizeof pyarrow_msg - 1);
    return rc;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint8_t rand_byte(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint8_t)((rng * 0x2545F4914F6CDD1Dull) >> 56);
}

/* Recipes: chaos byte, kind, flags, then generator bytes. */
static int import_seeds(const char *dir)
{
    enum { N_KINDS = 24, BODY = 160 };
    uint8_t r[3 + BODY];
    char name[64];
    int rc = 0;

    for (int kind = 0; kind < N_KINDS; kind++) {
        for (int variant = 0; variant < 2; variant++) {
            r[0] = (uint8_t)(variant == 1 && kind % 3 == 0); /* some chaos */
            r[1] = (uint8_t)kind;
            r[2] = (uint8_t)(variant == 0 ? 1 : 0); /* nullable or not */
            for (size_t i = 3; i < sizeof r; i++)
                r[i] = rand_byte();
            snprintf(name, sizeof name, "seed_kind%02d_%d.bin", kind,
                     variant);
            rc |= write_file(dir, name, r, sizeof r);
        }
    }
    return rc;
}

int main(int argc, char **argv)
{
    char dir[4096];
    int rc = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    snprintf(dir, sizeof dir, "%s/fuzz_arrow_ipc", argv[1]);
    mkdir(dir, 0777);
    rc |= ipc_seeds(dir);
    snprintf(dir, sizeof dir, "%s/fuzz_arrow_import", argv[1]);
    mkdir(dir, 0777);
    rc |= import_seeds(dir);
    return rc ? 1 : 0;
}
