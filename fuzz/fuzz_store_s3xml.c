/*
 * fuzz_store_s3xml.c - the S3 XML bodies (listings, errors, upload ids)
 * from arbitrary bytes: refused or parsed, never a crash or a leak.
 */
#include "store/s3_xml.h"
#include "util/alloc.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *xml = (const char *)data;
    struct s3_list_page page;
    struct s3_error e;
    char *id;
    int64_t ns;

    if (s3xml_parse_list(&page, xml, size) == INFINO_OK) {
        for (size_t i = 0; i < page.n_items; i++)
            if (page.items[i].key == NULL)
                __builtin_trap();
        s3xml_list_free(&page);
    }
    if (s3xml_parse_error(&e, xml, size) == INFINO_OK)
        s3xml_error_free(&e);
    (void)s3xml_is_error(xml, size);
    if (s3xml_parse_upload_id(&id, xml, size) == INFINO_OK)
        mem_free(id);
    (void)s3xml_parse_time(&ns, xml, size);
    err_clear();
    return 0;
}
