/*
 * version.c - version and error reporting entry points of infino.h.
 */
#include "infino.h"

#include "util/err.h"

INFINO_API unsigned infino_version_number(void)
{
    return INFINO_VERSION_NUMBER;
}

INFINO_API const char *infino_last_error(void)
{
    return err_last();
}

INFINO_API const char *infino_status_str(infino_status st)
{
    switch (st) {
    case INFINO_OK:
        return "ok";
    case INFINO_ERR_NOMEM:
        return "out of memory";
    case INFINO_ERR_IO:
        return "I/O error";
    case INFINO_ERR_CORRUPT:
        return "corrupt data";
    case INFINO_ERR_INVALID:
        return "invalid argument";
    case INFINO_ERR_NOTFOUND:
        return "not found";
    case INFINO_ERR_CONFLICT:
        return "commit conflict";
    case INFINO_ERR_UNSUPPORTED:
        return "unsupported";
    case INFINO_ERR_EXISTS:
        return "already exists";
    case INFINO_ERR_CARDINALITY:
        return "row count mismatch";
    case INFINO_ERR_INTERRUPTED:
        return "interrupted";
    case INFINO_ERR_BUSY:
        return "already running";
    }
    return "unknown status";
}
