/*
 * args.c - reading JavaScript values in the addon (see args.h).
 */
#include "args.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

napi_status arg_throw(napi_env env, bool type_error, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    napi_value code, text, e;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (napi_create_string_utf8(env, "InvalidArg", NAPI_AUTO_LENGTH, &code) !=
            napi_ok ||
        napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text) != napi_ok)
        return napi_pending_exception;
    if ((type_error ? napi_create_type_error(env, code, text, &e)
                    : napi_create_error(env, code, text, &e)) == napi_ok)
        napi_throw(env, e);
    return napi_pending_exception;
}

bool arg_nullish(napi_env env, napi_value v)
{
    napi_valuetype t;

    return v == NULL || napi_typeof(env, v, &t) != napi_ok ||
           t == napi_undefined || t == napi_null;
}

napi_value arg_prop(napi_env env, napi_value obj, const char *key)
{
    napi_value v = NULL;

    if (napi_get_named_property(env, obj, key, &v) != napi_ok)
        return NULL;
    return v;
}

napi_status arg_text(napi_env env, napi_value v, const char *what,
                     char **out, size_t *len_out)
{
    napi_valuetype t;
    size_t len;

    *out = NULL;
    *len_out = 0;
    if (v == NULL || napi_typeof(env, v, &t) != napi_ok)
        return napi_pending_exception;
    if (t != napi_string)
        return arg_throw(env, true, "%s must be a string", what);
    if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok)
        return napi_pending_exception;
    *out = malloc(len + 1);
    if (*out == NULL)
        return arg_throw(env, false, "out of memory");
    napi_get_value_string_utf8(env, v, *out, len + 1, &len);
    *len_out = len;
    return napi_ok;
}

napi_status arg_str(napi_env env, napi_value v, const char *what,
                    bool optional, char **out)
{
    size_t len;

    *out = NULL;
    if (optional && arg_nullish(env, v))
        return napi_ok;
    if (arg_text(env, v, what, out, &len) != napi_ok)
        return napi_pending_exception;
    if (strlen(*out) != len) {
        free(*out);
        *out = NULL;
        return arg_throw(env, true, "%s must not contain NUL characters",
                         what);
    }
    return napi_ok;
}

napi_status arg_int(napi_env env, napi_value v, const char *what, int64_t lo,
                    int64_t dflt, int64_t *out)
{
    napi_valuetype t;
    double d;

    if (v == NULL || napi_typeof(env, v, &t) != napi_ok)
        return napi_pending_exception;
    if (t == napi_undefined || t == napi_null) {
        *out = dflt;
        return napi_ok;
    }
    if (t != napi_number)
        return arg_throw(env, true, "%s must be a number", what);
    napi_get_value_double(env, v, &d);
    if (!(d >= (double)lo && d <= 9007199254740992.0) ||
        d != (double)(int64_t)d)
        return arg_throw(env, false, "%s must be an integer >= %lld", what,
                         (long long)lo);
    *out = (int64_t)d;
    return napi_ok;
}

napi_status arg_uint(napi_env env, napi_value v, const char *what,
                     uint64_t max, uint64_t *out)
{
    napi_valuetype t;

    if (v == NULL || napi_typeof(env, v, &t) != napi_ok)
        return napi_pending_exception;
    if (t == napi_bigint) {
        uint64_t u;
        bool lossless;
        int64_t s;
        napi_get_value_bigint_int64(env, v, &s, &lossless);
        if (lossless && s < 0)
            return arg_throw(env, false, "%s must not be negative", what);
        napi_get_value_bigint_uint64(env, v, &u, &lossless);
        if (!lossless || u > max)
            return arg_throw(env, false, "%s must be at most %llu", what,
                             (unsigned long long)max);
        *out = u;
        return napi_ok;
    }
    if (t == napi_number) {
        double d;
        napi_get_value_double(env, v, &d);
        if (!(d >= 0) || d != (double)(uint64_t)d || d > 9007199254740992.0)
            return arg_throw(env, false,
                             "%s must be a non-negative integer", what);
        if ((uint64_t)d > max)
            return arg_throw(env, false, "%s must be at most %llu", what,
                             (unsigned long long)max);
        *out = (uint64_t)d;
        return napi_ok;
    }
    return arg_throw(env, true, "%s must be a number", what);
}

int64_t arg_array_len(napi_env env, napi_value v, const char *what)
{
    bool is = false;
    uint32_t n;

    if (v == NULL || napi_is_array(env, v, &is) != napi_ok || !is) {
        arg_throw(env, true, "%s must be an array", what);
        return -1;
    }
    napi_get_array_length(env, v, &n);
    return n;
}

napi_status arg_bytes(napi_env env, napi_value v, const char *what,
                      const uint8_t **data, size_t *len)
{
    bool is;

    *data = NULL;
    *len = 0;
    if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
        static const size_t width[] = {
            [napi_int8_array] = 1,          [napi_uint8_array] = 1,
            [napi_uint8_clamped_array] = 1, [napi_int16_array] = 2,
            [napi_uint16_array] = 2,        [napi_int32_array] = 4,
            [napi_uint32_array] = 4,        [napi_float32_array] = 4,
            [napi_float64_array] = 8,       [napi_bigint64_array] = 8,
            [napi_biguint64_array] = 8,
        };
        napi_typedarray_type type;
        size_t n, off;
        napi_value ab;
        void *p;
        if (napi_get_typedarray_info(env, v, &type, &n, &p, &ab, &off) !=
            napi_ok)
            return napi_pending_exception;
        *data = p;
        *len = n * ((size_t)type < sizeof width / sizeof width[0] &&
                            width[type] != 0
                        ? width[type]
                        : 1);
        return napi_ok;
    }
    if (napi_is_dataview(env, v, &is) == napi_ok && is) {
        napi_value ab;
        size_t off;
        void *p;
        if (napi_get_dataview_info(env, v, len, &p, &ab, &off) != napi_ok)
            return napi_pending_exception;
        *data = p;
        return napi_ok;
    }
    if (napi_is_arraybuffer(env, v, &is) == napi_ok && is) {
        void *p;
        if (napi_get_arraybuffer_info(env, v, &p, len) != napi_ok)
            return napi_pending_exception;
        *data = p;
        return napi_ok;
    }
    return arg_throw(env, true, "%s must be a typed array, Buffer or null",
                     what);
}
