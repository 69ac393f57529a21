/*
 * util_hugepage_test.c - hugepage_advise() marks the 2 MiB-aligned
 * interior of a buffer for transparent huge pages (the VMA's "hg" flag in
 * /proc/self/smaps), leaves small buffers alone, and never changes bytes.
 */
#include "harness.h"

#include "util/alloc.h"
#include "util/hugepage.h"

#include <stdbool.h>

/* The VmFlags line of the mapping that holds `addr`, or "" when
 * /proc/self/smaps does not list it. */
static void vm_flags(uintptr_t addr, char *out, size_t cap)
{
    char line[512];
    bool in = false;
    FILE *f = fopen("/proc/self/smaps", "r");

    out[0] = '\0';
    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') &&
            line[0] != 'V') {
            in = addr >= lo && addr < hi;
        } else if (in && strncmp(line, "VmFlags:", 8) == 0) {
            snprintf(out, cap, "%s", line + 8);
            break;
        }
    }
    fclose(f);
}

static bool thp_available(void)
{
    char mode[128] = "";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

    if (f == NULL)
        return false;
    if (fgets(mode, sizeof mode, f) == NULL)
        mode[0] = '\0';
    fclose(f);
    return strstr(mode, "[never]") == NULL && mode[0] != '\0';
}

static void test_util_hugepage__advise(void **state)
{
    size_t n = (16u << 20) + (test_rand() % 4096);
    uint8_t *p = mem_alloc(n), *small = mem_alloc(64 << 10);
    uintptr_t mid = ((uintptr_t)p + n / 2) & ~(uintptr_t)4095;
    char flags[512];
    (void)state;

    assert_non_null(p);
    for (size_t i = 0; i < 4096; i++)
        p[i] = (uint8_t)i; /* touched before: must survive */
    hugepage_advise(p, n);
    memset(p + 4096, 0x5a, n - 4096);
    for (size_t i = 0; i < 4096; i++)
        assert_int_equal(p[i], (uint8_t)i);
    for (size_t i = 4096; i < n; i += 4093)
        assert_int_equal(p[i], 0x5a);
    if (thp_available()) {
        vm_flags(mid, flags, sizeof flags);
        assert_non_null(strstr(flags, " hg"));
    }
    /* too small, NULL: nothing happens (and nothing breaks) */
    hugepage_advise(small, 64 << 10);
    hugepage_advise(NULL, n);
    if (thp_available()) {
        vm_flags((uintptr_t)small, flags, sizeof flags);
        assert_null(strstr(flags, " hg"));
    }
    mem_free(small);
    mem_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_util_hugepage__advise),
    };
    test_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
