/*
 * cancel.c - the per-thread interrupt flag (cancel.h).
 *
 * The flag is written by a signal handler, possibly running on another
 * thread, and read here: loads are atomic (relaxed) where the compiler
 * offers it, so the read is neither torn nor cached in a register.
 */
#include "cancel.h"

#include "err.h"

#include <stddef.h>

static _Thread_local const volatile sig_atomic_t *watched;

void cancel_watch(const volatile sig_atomic_t *flag)
{
    watched = flag;
}

const volatile sig_atomic_t *cancel_watched(void)
{
    return watched;
}

bool cancel_requested(void)
{
    const volatile sig_atomic_t *f = watched;

    if (f == NULL)
        return false;
#if defined(__GNUC__) || defined(__clang__)
    return __atomic_load_n(f, __ATOMIC_RELAXED) != 0;
#else
    return *f != 0;
#endif
}

infino_status cancel_check(const char *what)
{
    if (!cancel_requested())
        return INFINO_OK;
    if (what == NULL)
        return err_set(INFINO_ERR_INTERRUPTED, "interrupted");
    return err_set(INFINO_ERR_INTERRUPTED, "interrupted while %s", what);
}
