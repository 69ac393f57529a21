/*
 * args.h - reading JavaScript values in the addon: strings, integers,
 * arrays and byte views, with the argument errors the package throws
 * (TypeError or Error, `code` "InvalidArg", as upstream's addon uses).
 *
 * Every function returns napi_ok, or napi_pending_exception with the
 * JavaScript exception thrown. Strings come back in malloc memory that the
 * caller frees.
 */
#ifndef INFINO_NODE_ARGS_H
#define INFINO_NODE_ARGS_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Throws an Error (or TypeError) with code "InvalidArg" and a printf-style
 * message; returns napi_pending_exception. */
napi_status arg_throw(napi_env env, bool type_error, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* True for undefined, null, or a missing value (v == NULL). */
bool arg_nullish(napi_env env, napi_value v);

/* Property `key` of `obj` (undefined when absent); NULL on failure. */
napi_value arg_prop(napi_env env, napi_value obj, const char *key);

/* A string without NUL, copied into *out (owned); with `optional`,
 * undefined and null give *out = NULL. `what` names it in errors. */
napi_status arg_str(napi_env env, napi_value v, const char *what,
                    bool optional, char **out);

/* Any string, NUL included, as bytes (owned) and their length. */
napi_status arg_text(napi_env env, napi_value v, const char *what,
                     char **out, size_t *len_out);

/* An integer number in [lo, 2^53], or `dflt` for undefined/null. */
napi_status arg_int(napi_env env, napi_value v, const char *what, int64_t lo,
                    int64_t dflt, int64_t *out);

/* A non-negative integer (number or bigint) no larger than `max`. */
napi_status arg_uint(napi_env env, napi_value v, const char *what,
                     uint64_t max, uint64_t *out);

/* The length of the JavaScript Array `v`, or -1 with an exception. */
int64_t arg_array_len(napi_env env, napi_value v, const char *what);

/* The bytes of a typed array, DataView, Buffer or ArrayBuffer (borrowed:
 * valid while `v` is alive and not detached). */
napi_status arg_bytes(napi_env env, napi_value v, const char *what,
                      const uint8_t **data, size_t *len);

#endif /* INFINO_NODE_ARGS_H */
