// Spike for issue 17 (docs/design/sql-engine.md): the same 1M-row source through DuckDB's C++ TableFunction, for what the
// C API lacks: filter hints (pushdown_complex_filter) and exact counts from
// metadata (get_partition_stats). Compiled against the headers of the same
// DuckDB release as the library (1.5.6), linked to the npm libduckdb.so.
#include "duckdb.hpp"
#include "duckdb.h"
#include "duckdb/function/table_function.hpp"
#include "duckdb/function/partition_stats.hpp"
#include "duckdb/planner/operator/logical_get.hpp"
#include "duckdb/planner/expression/bound_comparison_expression.hpp"
#include "duckdb/planner/expression/bound_columnref_expression.hpp"
#include "duckdb/planner/expression/bound_constant_expression.hpp"
#include "duckdb/catalog/catalog.hpp"
#include "duckdb/parser/parsed_data/create_table_function_info.hpp"
#include "duckdb/main/connection.hpp"
#include "duckdb/main/client_context.hpp"
#include <atomic>
#include <cstring>

using namespace duckdb;

extern "C" {
extern int64_t *g_id_c;
extern uint8_t *g_cat_c;
extern double *g_price_c;
extern duckdb_string_t *g_catstr_c;
extern long g_nrows_c;
extern std::atomic<long> *g_cpp_rows_scanned;
}

static const long kUnit = 122880; // rows per work unit ("row group")

struct ItemsBind : public TableFunctionData {
    int64_t lo = 0, hi = INT64_MAX; // id range hint from pushed filters
};

struct ItemsGlobal : public GlobalTableFunctionState {
    std::atomic<long> next{0};
    long start = 0, end = 0;
    vector<column_t> cols;
    idx_t MaxThreads() const override { return 8; }
};

static unique_ptr<FunctionData> items_bind(ClientContext &, TableFunctionBindInput &, vector<LogicalType> &types,
                                           vector<string> &names) {
    types = {LogicalType::BIGINT, LogicalType::VARCHAR, LogicalType::DOUBLE};
    names = {"id", "cat", "price"};
    return make_uniq<ItemsBind>();
}

static unique_ptr<GlobalTableFunctionState> items_init(ClientContext &, TableFunctionInitInput &in) {
    auto g = make_uniq<ItemsGlobal>();
    auto &b = in.bind_data->Cast<ItemsBind>();
    g->cols = in.column_ids;
    // ids are row numbers here; a real table maps the hint to row groups by statistics
    g->start = b.lo < 0 ? 0 : (b.lo > g_nrows_c ? g_nrows_c : b.lo);
    g->end = b.hi >= g_nrows_c ? g_nrows_c : b.hi + 1;
    if (g->end < g->start) g->end = g->start;
    return std::move(g);
}

static void items_func(ClientContext &, TableFunctionInput &in, DataChunk &out) {
    auto &g = in.global_state->Cast<ItemsGlobal>();
    long v = g.next.fetch_add(1);
    long s = g.start + v * STANDARD_VECTOR_SIZE;
    if (s >= g.end) {
        out.SetCardinality(0);
        return;
    }
    long n = g.end - s < (long)STANDARD_VECTOR_SIZE ? g.end - s : (long)STANDARD_VECTOR_SIZE;
    for (idx_t j = 0; j < g.cols.size(); j++) {
        auto &vec = out.data[j];
        switch (g.cols[j]) {
        case 0: memcpy(FlatVector::GetData<int64_t>(vec), g_id_c + s, n * 8); break;
        case 1: {
            auto d = reinterpret_cast<duckdb_string_t *>(FlatVector::GetData<string_t>(vec));
            for (long i = 0; i < n; i++) d[i] = g_catstr_c[g_cat_c[s + i]];
            break;
        }
        case 2: memcpy(FlatVector::GetData<double>(vec), g_price_c + s, n * 8); break;
        default: break; // row id / empty column: nothing to fill
        }
    }
    g_cpp_rows_scanned->fetch_add(n);
    out.SetCardinality(n);
}

// Look at the filters DuckDB is about to put above the scan; keep them all (DuckDB
// still applies them) and take `id = c`, `id >= c`, ... as a range hint.
static void items_pushdown(ClientContext &, LogicalGet &get, FunctionData *bind_data,
                           vector<unique_ptr<Expression>> &filters) {
    auto &b = bind_data->Cast<ItemsBind>();
    for (auto &f : filters) {
        if (f->GetExpressionClass() != ExpressionClass::BOUND_COMPARISON) continue;
        auto &cmp = f->Cast<BoundComparisonExpression>();
        Expression *col = cmp.left.get(), *cst = cmp.right.get();
        auto type = cmp.GetExpressionType();
        if (col->GetExpressionClass() == ExpressionClass::BOUND_CONSTANT) {
            std::swap(col, cst);
            type = FlipComparisonExpression(type);
        }
        if (col->GetExpressionClass() != ExpressionClass::BOUND_COLUMN_REF ||
            cst->GetExpressionClass() != ExpressionClass::BOUND_CONSTANT)
            continue;
        auto &ref = col->Cast<BoundColumnRefExpression>();
        auto &ids = get.GetColumnIds();
        if (ref.binding.column_index >= ids.size() || ids[ref.binding.column_index].GetPrimaryIndex() != 0) continue;
        auto &val = cst->Cast<BoundConstantExpression>().value;
        if (val.IsNull()) continue;
        Value iv;
        string err;
        if (!val.DefaultTryCastAs(LogicalType::BIGINT, iv, &err)) continue;
        int64_t c = iv.GetValue<int64_t>();
        switch (type) {
        case ExpressionType::COMPARE_EQUAL: b.lo = MaxValue(b.lo, c); b.hi = MinValue(b.hi, c); break;
        case ExpressionType::COMPARE_GREATERTHANOREQUALTO: b.lo = MaxValue(b.lo, c); break;
        case ExpressionType::COMPARE_GREATERTHAN: b.lo = MaxValue(b.lo, c + 1); break;
        case ExpressionType::COMPARE_LESSTHANOREQUALTO: b.hi = MinValue(b.hi, c); break;
        case ExpressionType::COMPARE_LESSTHAN: b.hi = MinValue(b.hi, c - 1); break;
        default: break;
        }
    }
}

// Exact row counts per unit: lets DuckDB's optimizer answer count(*) without a scan.
static vector<PartitionStatistics> items_stats(ClientContext &, GetPartitionStatsInput &) {
    vector<PartitionStatistics> out;
    for (long s = 0; s < g_nrows_c; s += kUnit) {
        PartitionStatistics p;
        p.row_start = s;
        p.count = (idx_t)(g_nrows_c - s < kUnit ? g_nrows_c - s : kUnit);
        p.count_type = CountType::COUNT_EXACT;
        out.push_back(std::move(p));
    }
    return out;
}

static unique_ptr<NodeStatistics> items_card(ClientContext &, const FunctionData *) {
    return make_uniq<NodeStatistics>((idx_t)g_nrows_c, (idx_t)g_nrows_c);
}

extern "C" int register_cpp_tf(duckdb_connection c, const char *name) {
    auto con = reinterpret_cast<Connection *>(c);
    TableFunction tf(name, {}, items_func, items_bind, items_init);
    tf.projection_pushdown = true;
    tf.pushdown_complex_filter = items_pushdown;
    tf.get_partition_stats = items_stats;
    tf.cardinality = items_card;
    try {
        con->context->RunFunctionInTransaction([&]() {
            auto &catalog = Catalog::GetSystemCatalog(*con->context);
            CreateTableFunctionInfo info(tf);
            catalog.CreateTableFunction(*con->context, info);
        });
    } catch (std::exception &e) {
        fprintf(stderr, "register_cpp_tf: %s\n", e.what());
        return -1;
    }
    return 0;
}
