/*
 * bench_util_utf8.c - throughput of utf8_check (util/utf8.h), the check
 * every utf8 value of an append goes through, on generated text of three
 * shapes: ASCII words, European text (one accented letter in ten), and
 * CJK (three-byte characters, spaces between words).
 *
 * Usage: bench_util_utf8 [-m megabytes] [-r repeats]   (defaults 100, 5)
 * Prints one JSON object per line: the best of the repeats in MB/s
 * (1 MB = 10^6 bytes). Not part of ctest.
 */
#include "util/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static size_t put_ascii_word(uint8_t *p)
{
    size_t n = 2 + rnd() % 8;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)('a' + rnd() % 26);
    p[n] = ' ';
    return n + 1;
}

static size_t put_european_word(uint8_t *p)
{
    size_t n = 2 + rnd() % 8, k = 0;
    for (size_t i = 0; i < n; i++) {
        if (rnd() % 10 == 0) { /* U+00E0..U+00FF */
            p[k++] = 0xc3;
            p[k++] = (uint8_t)(0xa0 + rnd() % 32);
        } else {
            p[k++] = (uint8_t)('a' + rnd() % 26);
        }
    }
    p[k++] = ' ';
    return k;
}

static size_t put_cjk_word(uint8_t *p)
{
    size_t n = 1 + rnd() % 4, k = 0;
    for (size_t i = 0; i < n; i++) { /* U+4E00..U+9FFF */
        uint32_t cp = 0x4e00 + (uint32_t)(rnd() % 0x5200);
        p[k++] = (uint8_t)(0xe0 | (cp >> 12));
        p[k++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        p[k++] = (uint8_t)(0x80 | (cp & 0x3f));
    }
    p[k++] = ' ';
    return k;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    size_t mb = 100;
    int repeats = 5, opt;
    static const struct {
        const char *name;
        size_t (*word)(uint8_t *);
    } shapes[] = {{"ascii", put_ascii_word},
                  {"european", put_european_word},
                  {"cjk", put_cjk_word}};

    while ((opt = getopt(argc, argv, "m:r:")) != -1) {
        if (opt == 'm')
            mb = (size_t)strtoul(optarg, NULL, 10);
        else if (opt == 'r')
            repeats = atoi(optarg);
        else
            return 2;
    }
    size_t n = mb * 1000 * 1000;
    uint8_t *text = malloc(n + 64);
    if (text == NULL)
        return 1;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        size_t len = 0;
        double best = 1e30;

        while (len < n)
            len += shapes[s].word(text + len);
        len = n; /* may cut the last character: */
        while (len > 0 && utf8_is_continuation(text[len]))
            len--; /* end on a character boundary */
        for (int r = 0; r < repeats; r++) {
            double t0 = now();
            size_t ok = utf8_check(text, len);
            double dt = now() - t0;
            if (ok != len) {
                fprintf(stderr, "%s: invalid at %zu\n", shapes[s].name, ok);
                return 1;
            }
            if (dt < best)
                best = dt;
        }
        printf("{\"bench\": \"utf8_check\", \"text\": \"%s\", \"bytes\": %zu, "
               "\"seconds\": %.4f, \"mb_per_s\": %.0f}\n",
               shapes[s].name, len, best, (double)len / best / 1e6);
    }
    free(text);
    return 0;
}
