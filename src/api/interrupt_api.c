/*
 * interrupt_api.c - infino_interrupt_watch (infino.h, "Interrupts"): the
 * public face of util/cancel.h.
 */
#include "infino.h"

#include "util/cancel.h"

INFINO_API void infino_interrupt_watch(const volatile sig_atomic_t *flag)
{
    cancel_watch(flag);
}
