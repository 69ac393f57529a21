/*
 * superfile_api.c - inspecting superfiles (infino.h, "Superfiles").
 */
#include "infino.h"

#include "superfile/superfile.h"
#include "util/alloc.h"
#include "util/err.h"

#include <stdio.h>
#include <string.h>

INFINO_API void infino_free(void *p)
{
    mem_free(p);
}

INFINO_API infino_status infino_superfile_regions(const char *path,
                                                  infino_region_info **out,
                                                  size_t *n_out)
{
    struct store_blob *blob = NULL;
    struct sf_reader *r = NULL;
    infino_region_info *info = NULL;
    size_t n = 0;
    infino_status st;

    if (out == NULL || n_out == NULL || path == NULL)
        return err_set(INFINO_ERR_INVALID, "infino_superfile_regions: NULL "
                                           "argument");
    *out = NULL;
    *n_out = 0;
    CHECK(store_blob_open_file(&blob, path));
    CHECK(sf_reader_open(&r, blob));
    n = sf_reader_n_regions(r);
    info = mem_calloc(n + 1, sizeof *info);
    if (info == NULL) {
        st = err_nomem();
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = sf_reader_region_name(r, i);
        const uint8_t *p;
        size_t len;

        snprintf(info[i].name, sizeof info[i].name, "%s", name);
        sf_reader_region_locate(r, name, &info[i].offset, &info[i].length,
                                &info[i].crc32c);
        st = sf_reader_region(r, name, &p, &len);
        if (st == INFINO_ERR_CORRUPT) {
            info[i].intact = 0;
            err_clear();
        } else if (st != INFINO_OK) {
            goto fail;
        } else {
            info[i].intact = 1;
        }
    }
    *out = info;
    *n_out = n;
    info = NULL;
    st = INFINO_OK;
fail:
    mem_free(info);
    sf_reader_free(r);
    store_blob_close(blob);
    return st;
}
