/*
 * fuzz_store_azxml.c - the Azure Blob XML bodies (List Blobs pages, errors)
 * and the RFC 1123 dates in them from arbitrary bytes: refused or parsed,
 * never a crash or a leak.
 */
#include "store/az_xml.h"
#include "store/xml.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *xml = (const char *)data;
    struct az_list_page page;
    struct az_error e;
    int64_t ns;

    if (azxml_parse_list(&page, xml, size) == INFINO_OK) {
        for (size_t i = 0; i < page.n_items; i++)
            if (page.items[i].name == NULL)
                __builtin_trap();
        azxml_list_free(&page);
    }
    if (azxml_parse_error(&e, xml, size) == INFINO_OK)
        azxml_error_free(&e);
    (void)xml_parse_rfc1123(&ns, "fuzz", xml, size);
    err_clear();
    return 0;
}
