/*
 * cancel.h - cooperative cancellation: long operations poll a flag that
 * the caller owns (infino_interrupt_watch in infino.h).
 *
 * Each thread may watch one flag, typically set by a SIGINT handler. Long
 * operations call cancel_check() at points where stopping is clean
 * (between input batches, row groups, superfiles, index regions) and
 * unwind with INFINO_ERR_INTERRUPTED through their ordinary error paths,
 * which remove or abandon what they wrote. A poll is one thread-local
 * load and one load of the flag, so it may sit in any loop over batches.
 *
 * Rule for writers: poll only before a commit publishes, never after;
 * once a snapshot is published the operation must report success.
 * Polls see only the calling thread's flag: work run on worker threads
 * (tpool) is not interrupted inside a piece.
 */
#ifndef INFINO_UTIL_CANCEL_H
#define INFINO_UTIL_CANCEL_H

#include "infino.h"

#include <stdbool.h>

/* Makes the calling thread watch `flag` (borrowed: it must stay valid
 * until the thread watches another flag or NULL). NULL stops watching. */
void cancel_watch(const volatile sig_atomic_t *flag);

/* The flag the calling thread watches, or NULL. */
const volatile sig_atomic_t *cancel_watched(void);

/* True when the calling thread watches a flag and the flag is non-zero. */
bool cancel_requested(void);

/* INFINO_OK, or when cancel_requested(): INFINO_ERR_INTERRUPTED with the
 * message "interrupted while <what>" (what may be NULL: "interrupted").
 * Callers add the table and operation with err_context on the way out. */
infino_status cancel_check(const char *what);

#endif
