/*
 * scripted_http.h - a scripted HTTP/1.1 server in the test process, for the
 * object-store backends' unit tests (store_s3_test.c, store_gcs_test.c,
 * store_azure_test.c).
 *
 * Each accepted connection serves one request and closes: the n-th request
 * gets the n-th reply of the script (the last one repeats). Every request is
 * kept whole (request line, headers and up to 1 MiB of body) for the test to
 * inspect; log[] has the request line plus markers. Define SCRIPTED_SECRET
 * before including to mark requests that carry it with " [SECRET LEAKED]".
 */
#ifndef INFINO_TEST_SCRIPTED_HTTP_H
#define INFINO_TEST_SCRIPTED_HTTP_H

#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <strings.h>
#include <sys/socket.h>

#define SCRIPTED_MAX 64
#define SCRIPTED_BODY_CAP ((size_t)1 << 20)

/* DROP_AFTER_BODY: read the request, close without answering;
 * TRUNCATE: announce 100 bytes more than the body, send it, close;
 * CUT_HEADERS: send the status line and part of the headers, close. */
enum act { RESPOND, DROP_AFTER_BODY, TRUNCATE, CUT_HEADERS };

struct reply {
    enum act act;
    int status;
    const char *headers; /* extra header lines, each ending "\r\n" */
    const char *body;
};

struct server {
    int fd;
    int port;
    pthread_t thread;
    const struct reply *script;
    size_t n_script;
    size_t served; /* requests answered (or dropped) */
    char log[SCRIPTED_MAX][512]; /* request lines and markers */
    char *raw[SCRIPTED_MAX];     /* whole requests, NUL-terminated */
};

/* Reads one request into a new buffer (headers and body). */
static char *read_request(int c)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = calloc(1, cap + 1), *end = NULL;
    long body = 0;

    /* up to the end of the headers (a first recv may hold body bytes) */
    while ((end = strstr(buf, "\r\n\r\n")) == NULL && n < cap) {
        ssize_t r = recv(c, buf + n, cap - n, 0);
        if (r <= 0) {
            free(buf);
            return NULL;
        }
        n += (size_t)r;
        buf[n] = '\0';
    }
    if (end == NULL) {
        free(buf);
        return NULL;
    }
    for (char *p = buf; p < end; p = strstr(p, "\r\n") + 2)
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            body = strtol(p + 15, NULL, 10);
    size_t head = (size_t)(end + 4 - buf), have = n - head;
    size_t keep = (size_t)body < SCRIPTED_BODY_CAP ? (size_t)body
                                                   : SCRIPTED_BODY_CAP;
    if (head + keep > cap) {
        cap = head + keep;
        buf = realloc(buf, cap + 1);
    }
    while ((long)have < body) {
        char sink[65536];
        ssize_t r = recv(c, sink, sizeof sink, 0);
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r; i++, have++)
            if (have < keep)
                buf[head + have] = sink[i];
    }
    buf[head + (have < keep ? have : keep)] = '\0';
    return buf;
}

static void *serve(void *payload)
{
    struct server *sv = payload;

    for (;;) {
        int c = accept(sv->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char *req = read_request(c);
        if (req == NULL) {
            close(c);
            continue;
        }
        if (sv->served < SCRIPTED_MAX) {
            char *line = sv->log[sv->served];
            char *eol = strstr(req, "\r\n");
            snprintf(line, 512, "%.*s", (int)(eol - req), req);
            if (strstr(req, "\r\nIf-None-Match: *"))
                strncat(line, " [if-none-match]", 511 - strlen(line));
#ifdef SCRIPTED_SECRET
            if (strstr(req, SCRIPTED_SECRET))
                strncat(line, " [SECRET LEAKED]", 511 - strlen(line));
#endif
            sv->raw[sv->served] = req;
        } else {
            free(req);
        }
        const struct reply *r = sv->served < sv->n_script
                                    ? &sv->script[sv->served]
                                    : &sv->script[sv->n_script - 1];
        sv->served++;
        if (r->act == CUT_HEADERS) {
            char head[128];
            int n = snprintf(head, sizeof head,
                             "HTTP/1.1 %d X\r\nETag: \"e\"\r\n", r->status);
            if (send(c, head, (size_t)n, MSG_NOSIGNAL) < 0)
                fprintf(stderr, "scripted server: send failed\n");
        } else if (r->act != DROP_AFTER_BODY) {
            char head[2048];
            const char *body = r->body ? r->body : "";
            int n = snprintf(head, sizeof head,
                             "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n"
                             "Connection: close\r\n%s\r\n",
                             r->status,
                             strlen(body) + (r->act == TRUNCATE ? 100 : 0),
                             r->headers ? r->headers : "");
            if (send(c, head, (size_t)n, MSG_NOSIGNAL) < 0 ||
                send(c, body, strlen(body), MSG_NOSIGNAL) < 0)
                fprintf(stderr, "scripted server: send failed\n");
        }
        close(c);
    }
}

static void server_start(struct server *sv, const struct reply *script,
                         size_t n)
{
    struct sockaddr_in a = {0};
    socklen_t len = sizeof a;

    memset(sv, 0, sizeof *sv);
    sv->script = script;
    sv->n_script = n;
    sv->fd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(sv->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(sv->fd, 16), 0);
    getsockname(sv->fd, (struct sockaddr *)&a, &len);
    sv->port = ntohs(a.sin_port);
    pthread_create(&sv->thread, NULL, serve, sv);
}

static void server_stop(struct server *sv)
{
    shutdown(sv->fd, SHUT_RDWR);
    close(sv->fd);
    pthread_join(sv->thread, NULL);
    for (size_t i = 0; i < SCRIPTED_MAX; i++)
        free(sv->raw[i]);
}

/* The value of header `name` in request `i` (a static copy), or NULL. */
static inline const char *server_header(const struct server *sv, size_t i,
                                 const char *name)
{
    static char value[4096];
    const char *req = i < SCRIPTED_MAX ? sv->raw[i] : NULL;
    size_t n = strlen(name);

    if (req == NULL)
        return NULL;
    for (const char *p = strstr(req, "\r\n"); p && p[2] != '\r';
         p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            const char *v = p + 3 + n, *e = strstr(v, "\r\n");
            while (*v == ' ')
                v++;
            snprintf(value, sizeof value, "%.*s", (int)(e - v), v);
            return value;
        }
    }
    return NULL;
}

/* The body of request `i` (borrowed), or "". */
static inline const char *server_body(const struct server *sv, size_t i)
{
    const char *req = i < SCRIPTED_MAX ? sv->raw[i] : NULL;
    const char *b = req ? strstr(req, "\r\n\r\n") : NULL;

    return b ? b + 4 : "";
}

#endif
