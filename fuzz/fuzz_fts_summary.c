/*
 * fuzz_fts_summary.c - parses arbitrary bytes as a term summary (the form
 * a table snapshot keeps) and probes it.
 * Seeds: tests/tools/fts_fuzz_seeds.c.
 */
#include "index/fts/fts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fts_summary s;
    static const uint8_t probes[][6] = {"a", "term", "zzzzz", "\xc3\xa9t"};

    if (fts_summary_open(&s, data, size) != INFINO_OK)
        return 0;
    for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) {
        size_t n = 1 + i % 4;
        (void)fts_summary_may_contain(&s, probes[i], n);
        (void)fts_summary_may_contain_prefix(&s, probes[i], n);
    }
    if (s.min_len > 0)
        (void)fts_summary_may_contain(&s, s.min_term, s.min_len);
    return 0;
}
