/*
 * err.c - thread-local error messages (see err.h).
 *
 * The message lives in a fixed thread-local buffer so that reporting an
 * error never allocates (and therefore works when allocation has failed).
 */
#include "err.h"

#include <stdio.h>
#include <string.h>

#define ERR_MSG_CAP 1024

static _Thread_local char msg[ERR_MSG_CAP];

infino_status err_setv(infino_status st, const char *fmt, va_list ap)
{
    vsnprintf(msg, sizeof msg, fmt, ap);
    return st;
}

infino_status err_set(infino_status st, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    err_setv(st, fmt, ap);
    va_end(ap);
    return st;
}

infino_status err_context(infino_status st, const char *fmt, ...)
{
    char old[ERR_MSG_CAP];
    size_t n, old_len;
    va_list ap;

    if (st == INFINO_OK)
        return st;
    memcpy(old, msg, sizeof old);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Append ": <old message>", truncating at the buffer's end. */
    n = strlen(msg);
    old_len = strnlen(old, sizeof old - 1);
    if (old_len > 0 && n + 2 < sizeof msg) {
        memcpy(msg + n, ": ", 2);
        n += 2;
        if (old_len > sizeof msg - 1 - n)
            old_len = sizeof msg - 1 - n;
        memcpy(msg + n, old, old_len);
        msg[n + old_len] = '\0';
    }
    return st;
}

infino_status err_nomem(void)
{
    return err_set(INFINO_ERR_NOMEM, "out of memory");
}

const char *err_last(void)
{
    return msg;
}

void err_clear(void)
{
    msg[0] = '\0';
}

void err_save(struct err_saved *s, infino_status st)
{
    size_t n = st != INFINO_OK ? strlen(msg) : 0;

    /* cut to fit, as a message set through a short buffer is */
    if (n >= sizeof s->msg)
        n = sizeof s->msg - 1;
    s->st = st;
    memcpy(s->msg, msg, n);
    s->msg[n] = '\0';
}

infino_status err_restore(const struct err_saved *s)
{
    if (s->st == INFINO_OK)
        return INFINO_OK;
    return err_set(s->st, "%s", s->msg);
}
