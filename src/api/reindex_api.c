/*
 * reindex_api.c - infino_table_reindex and its plan (infino.h), over
 * tbl_reindex (table/table.h): option parsing and the report's shape.
 */
#include "infino.h"

#include "table/table.h"

#include "util/alloc.h"
#include "util/err.h"
#include "util/random.h"

#include <string.h>
#include <strings.h>

#include "api_int.h"

int api_recalibrate_valid(const char *policy)
{
    return policy == NULL || strcasecmp(policy, "auto") == 0 ||
           strcasecmp(policy, "force") == 0 || strcasecmp(policy, "skip") == 0;
}

static infino_status parse_opts(struct tbl_reindex_opts *out,
                                const infino_reindex_opts *o)
{
    memset(out, 0, sizeof *out);
    out->mode = TBL_REINDEX_AUTO;
    if (o == NULL || o->mode == NULL || strcasecmp(o->mode, "auto") == 0)
        return INFINO_OK;
    if (strcasecmp(o->mode, "rewrite") == 0)
        out->mode = TBL_REINDEX_REWRITE;
    else if (strcasecmp(o->mode, "reanalyze") == 0)
        out->mode = TBL_REINDEX_REANALYZE;
    else
        return err_set(INFINO_ERR_INVALID,
                       "unknown reindex mode \"%s\"; use 'auto', 'rewrite', "
                       "or 'reanalyze'",
                       o->mode);
    /* stale_seal_timeout_ms: any value; nothing here uses it (infino.h) */
    return INFINO_OK;
}

void infino_reindex_report_free(infino_reindex_report *r)
{
    if (r == NULL)
        return;
    mem_free(r->plan);
    mem_free(r->inconsistent_footers);
    memset(r, 0, sizeof *r);
}

static infino_status run(infino_table *t, const infino_reindex_opts *o,
                         bool dry_run, infino_reindex_report *out)
{
    struct tbl_reindex_opts to;
    struct tbl_reindex_report r;
    infino_status st;

    if (out == NULL)
        return err_set(INFINO_ERR_INVALID, "reindex: NULL report");
    memset(out, 0, sizeof *out);
    if (t == NULL)
        return err_set(INFINO_ERR_INVALID, "reindex: NULL table");
    st = parse_opts(&to, o);
    if (st != INFINO_OK)
        return st;
    st = tbl_reindex(t->t, &to, dry_run, &r);
    if (st != INFINO_OK)
        return st;
    out->plan = mem_calloc(r.needing_rewrite + 1, sizeof *out->plan);
    out->inconsistent_footers =
        mem_calloc(r.n_inconsistent + 1, sizeof *out->inconsistent_footers);
    if (out->plan == NULL || out->inconsistent_footers == NULL) {
        tbl_reindex_report_free(&r);
        infino_reindex_report_free(out);
        return err_nomem();
    }
    out->superfiles = r.superfiles;
    out->already_current = r.already_current;
    out->needing_rewrite = r.needing_rewrite;
    out->awaiting_reanalysis = r.awaiting_reanalysis;
    out->bytes_to_rewrite = r.bytes_to_rewrite;
    out->rewritten = r.rewritten;
    out->held_by_another_run = r.held_by_another_run;
    for (size_t i = 0; i < r.needing_rewrite; i++) {
        infino_planned_repair *p = &out->plan[i];
        hex_encode(p->superfile_id, r.plan[i].id, sizeof r.plan[i].id);
        p->mode = r.plan[i].repair == TBL_REPAIR_REANALYZE ? "reanalyze"
                                                           : "rewrite";
        p->live_bytes = r.plan[i].live_bytes;
    }
    for (size_t i = 0; i < r.n_inconsistent; i++)
        hex_encode(out->inconsistent_footers[i], r.inconsistent[i],
                   sizeof r.inconsistent[i]);
    out->n_inconsistent_footers = r.n_inconsistent;
    tbl_reindex_report_free(&r);
    return INFINO_OK;
}

INFINO_API infino_status infino_table_reindex(infino_table *t,
                                              const infino_reindex_opts *o,
                                              infino_reindex_report *out)
{
    return run(t, o, false, out);
}

INFINO_API infino_status infino_table_reindex_plan(infino_table *t,
                                                   const infino_reindex_opts *o,
                                                   infino_reindex_report *out)
{
    return run(t, o, true, out);
}
