/*
 * pq_decode.c - Parquet encodings and the page iterator (see pq_decode.h).
 * Formats: apache/parquet-format Encodings.md. Bit unpacking is
 * specialised per bit width so the inner loops have constant shifts; RLE
 * runs become memset; only DELTA miniblocks wider than 32 bits go value
 * by value.
 */
#include "pq_decode.h"

#include "pq_codec.h"
#include "util/compat.h"
#include "util/endian.h"
#include "util/err.h"
#include "util/rd.h"

#include <string.h>
#include <zlib.h>

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

static infino_status corrupt(const char *what)
{
    return err_set(INFINO_ERR_CORRUPT, "%s", what);
}

infino_status pq_budget_take(uint64_t *budget, uint64_t n)
{
    if (n > *budget)
        return err_set(INFINO_ERR_UNSUPPORTED,
                       "row group too large to decode (over the reader's "
                       "memory limit)");
    *budget -= n;
    return INFINO_OK;
}

/* ---- bit unpacking ---------------------------------------------------- */

/* 8 values of `bw` bits from `in`, which must have (7 * bw / 8) + 8
 * readable bytes. Inlined into per-width loops so `bw` is a constant. */
static ALWAYS_INLINE void unpack8_direct(uint32_t *out, const uint8_t *in,
                                         int bw)
{
    const uint64_t mask = bw == 32 ? 0xffffffffu : (1u << bw) - 1;

    for (int j = 0; j < 8; j++) {
        unsigned bit = (unsigned)(j * bw);
        out[j] = (uint32_t)((load_u64le(in + (bit >> 3)) >> (bit & 7)) & mask);
    }
}

/* Same, reading exactly `bw` bytes (for the tail of a buffer). */
static ALWAYS_INLINE void unpack8_safe(uint32_t *out, const uint8_t *in,
                                       int bw)
{
    uint8_t t[48];

    memcpy(t, in, (size_t)bw);
    memset(t + bw, 0, 8);
    unpack8_direct(out, t, bw);
}

#define UNPACK_FN(BW)                                                          \
    static void unpack_##BW(uint32_t *out, const uint8_t *in, size_t g)        \
    {                                                                          \
        /* Groups followed by >= 8 more bytes may load 8 bytes at once. */     \
        size_t tail = (8 + BW - 1) / BW, i = 0;                                \
        size_t direct = g > tail ? g - tail : 0;                               \
        for (; i < direct; i++)                                                \
            unpack8_direct(out + 8 * i, in + (size_t)BW * i, BW);              \
        for (; i < g; i++)                                                     \
            unpack8_safe(out + 8 * i, in + (size_t)BW * i, BW);                \
    }
UNPACK_FN(1)
UNPACK_FN(2)
UNPACK_FN(3)
UNPACK_FN(4)
UNPACK_FN(5)
UNPACK_FN(6)
UNPACK_FN(7)
UNPACK_FN(8)
UNPACK_FN(9)
UNPACK_FN(10)
UNPACK_FN(11)
UNPACK_FN(12)
UNPACK_FN(13)
UNPACK_FN(14)
UNPACK_FN(15)
UNPACK_FN(16)
UNPACK_FN(17)
UNPACK_FN(18)
UNPACK_FN(19)
UNPACK_FN(20)
UNPACK_FN(21)
UNPACK_FN(22)
UNPACK_FN(23)
UNPACK_FN(24)
UNPACK_FN(25)
UNPACK_FN(26)
UNPACK_FN(27)
UNPACK_FN(28)
UNPACK_FN(29)
UNPACK_FN(30)
UNPACK_FN(31)
UNPACK_FN(32)

typedef void (*unpack_fn)(uint32_t *, const uint8_t *, size_t);
static const unpack_fn unpackers[33] = {
    NULL,       unpack_1,  unpack_2,  unpack_3,  unpack_4,  unpack_5,
    unpack_6,   unpack_7,  unpack_8,  unpack_9,  unpack_10, unpack_11,
    unpack_12,  unpack_13, unpack_14, unpack_15, unpack_16, unpack_17,
    unpack_18,  unpack_19, unpack_20, unpack_21, unpack_22, unpack_23,
    unpack_24,  unpack_25, unpack_26, unpack_27, unpack_28, unpack_29,
    unpack_30,  unpack_31, unpack_32,
};

void pq_unpack_u32(uint32_t *out, const uint8_t *in, size_t n_groups, int bw)
{
    if (bw == 0)
        memset(out, 0, n_groups * 8 * sizeof *out);
    else
        unpackers[bw](out, in, n_groups); /* one call per run, not value */
}

/* Levels: 8 values of bw <= 8 bits live in one 64-bit word. */
static ALWAYS_INLINE void unpack8_u8(uint8_t *out, const uint8_t *in, int bw)
{
    uint64_t w = 0;
    const uint64_t mask = (1u << bw) - 1;

    memcpy(&w, in, (size_t)bw);
    for (int j = 0; j < 8; j++)
        out[j] = (uint8_t)((w >> (j * bw)) & mask);
}

#define UNPACK_U8_FN(BW)                                                       \
    static void unpack_u8_##BW(uint8_t *out, const uint8_t *in, size_t g)      \
    {                                                                          \
        for (size_t i = 0; i < g; i++)                                         \
            unpack8_u8(out + 8 * i, in + (size_t)BW * i, BW);                  \
    }
UNPACK_U8_FN(1)
UNPACK_U8_FN(2)
UNPACK_U8_FN(3)
UNPACK_U8_FN(4)
UNPACK_U8_FN(5)
UNPACK_U8_FN(6)
UNPACK_U8_FN(7)
UNPACK_U8_FN(8)

static void unpack_u8(uint8_t *out, const uint8_t *in, size_t g, int bw)
{
    switch (bw) {
    case 0:
        memset(out, 0, g * 8);
        break;
    case 1:
        unpack_u8_1(out, in, g);
        break;
    case 2:
        unpack_u8_2(out, in, g);
        break;
    case 3:
        unpack_u8_3(out, in, g);
        break;
    case 4:
        unpack_u8_4(out, in, g);
        break;
    case 5:
        unpack_u8_5(out, in, g);
        break;
    case 6:
        unpack_u8_6(out, in, g);
        break;
    case 7:
        unpack_u8_7(out, in, g);
        break;
    default:
        unpack_u8_8(out, in, g);
        break;
    }
}

/* ---- RLE / bit-packed hybrid ------------------------------------------ */

void pq_rle_init(struct pq_rle *d, const uint8_t *p, size_t n, int bit_width)
{
    memset(d, 0, sizeof *d);
    d->p = p;
    d->end = p + n;
    d->bit_width = bit_width;
    d->grp_pos = 8;
}

/* Reads the next run header. Encodings.md: varint header; low bit 1 =
 * bit-packed run of (header >> 1) groups of 8, else an RLE run of
 * (header >> 1) copies of a ceil(bw / 8)-byte little-endian value. A
 * final bit-packed run may be cut short; only its whole values count. */
static infino_status next_run(struct pq_rle *d)
{
    struct rd r = rd_make(d->p, (size_t)(d->end - d->p));
    uint64_t h;
    int bw = d->bit_width;

    if (rd_uvarint(&r, &h) != 0)
        return corrupt("RLE/bit-packed data runs out");
    if (h & 1) {
        uint64_t groups = h >> 1;
        size_t avail = rd_left(&r), nbytes;
        d->packed = true;
        d->grp_pos = 8;
        if (bw == 0) {
            d->left = groups > (UINT64_MAX >> 3) ? UINT64_MAX : groups * 8;
            nbytes = 0;
        } else {
            /* groups * bw cannot overflow once groups <= avail. */
            nbytes = groups > avail ? avail : (size_t)groups * (size_t)bw;
            if (nbytes > avail)
                nbytes = avail;
            d->left = MIN(groups * 8, (uint64_t)nbytes * 8 / (uint64_t)bw);
        }
        d->bits = r.p;
        d->bits_len = nbytes;
        d->p = r.p + nbytes;
    } else {
        int nb = (bw + 7) / 8;
        uint32_t v = 0;
        for (int i = 0; i < nb; i++) {
            uint8_t b;
            if (rd_u8(&r, &b) != 0)
                return corrupt("RLE run value truncated");
            v |= (uint32_t)b << (8 * i);
        }
        d->packed = false;
        d->value = v;
        d->left = h >> 1;
        d->p = r.p;
    }
    return INFINO_OK;
}

/* Unpacks the next group of a bit-packed run into d->grp. */
static void fill_group(struct pq_rle *d)
{
    int bw = d->bit_width;

    if (bw == 0) {
        memset(d->grp, 0, sizeof d->grp);
    } else {
        uint8_t t[32] = {0};
        size_t n = MIN(d->bits_len, (size_t)bw);
        memcpy(t, d->bits, n);
        unpackers[bw](d->grp, t, 1);
        d->bits += n;
        d->bits_len -= n;
    }
    d->grp_pos = 0;
}

infino_status pq_rle_get_u32(struct pq_rle *d, uint32_t *out, size_t n)
{
    infino_status st;

    if (d->bit_width < 0 || d->bit_width > 32)
        return corrupt("RLE bit width above 32");
    while (n > 0) {
        size_t k;
        if (d->left == 0) {
            if (d->p >= d->end)
                return corrupt("RLE/bit-packed data runs out");
            if ((st = next_run(d)) != INFINO_OK)
                return st;
            continue;
        }
        k = (size_t)MIN((uint64_t)n, d->left);
        if (!d->packed) {
            for (size_t i = 0; i < k; i++)
                out[i] = d->value;
        } else {
            size_t i = 0, g;
            /* Values left over from a partly read group, then whole
             * groups straight into `out`, then one more partial group. */
            while (i < k && d->grp_pos < 8)
                out[i++] = d->grp[d->grp_pos++];
            g = (k - i) / 8;
            if (d->bit_width > 0)
                g = MIN(g, d->bits_len / (size_t)d->bit_width);
            if (g > 0) {
                pq_unpack_u32(out + i, d->bits, g, d->bit_width);
                d->bits += g * (size_t)d->bit_width;
                d->bits_len -= g * (size_t)d->bit_width;
                i += g * 8;
            }
            while (i < k) {
                if (d->grp_pos == 8)
                    fill_group(d);
                out[i++] = d->grp[d->grp_pos++];
            }
        }
        out += k;
        n -= k;
        d->left -= k;
    }
    return INFINO_OK;
}

infino_status pq_rle_get_u8(struct pq_rle *d, uint8_t *out, size_t n)
{
    infino_status st;

    if (d->bit_width > 8)
        return corrupt("level bit width above 8");
    while (n > 0) {
        size_t k;
        if (d->left == 0) {
            if (d->p >= d->end)
                return corrupt("RLE/bit-packed levels run out");
            if ((st = next_run(d)) != INFINO_OK)
                return st;
            continue;
        }
        k = (size_t)MIN((uint64_t)n, d->left);
        if (!d->packed) {
            memset(out, (int)(d->value & 0xff), k);
            if (d->value > 0xff)
                return corrupt("RLE level value out of range");
        } else {
            size_t i = 0, g;
            while (i < k && d->grp_pos < 8)
                out[i++] = (uint8_t)d->grp[d->grp_pos++];
            g = (k - i) / 8;
            if (d->bit_width > 0)
                g = MIN(g, d->bits_len / (size_t)d->bit_width);
            if (g > 0) {
                unpack_u8(out + i, d->bits, g, d->bit_width);
                d->bits += g * (size_t)d->bit_width;
                d->bits_len -= g * (size_t)d->bit_width;
                i += g * 8;
            }
            while (i < k) {
                if (d->grp_pos == 8)
                    fill_group(d);
                out[i++] = (uint8_t)d->grp[d->grp_pos++];
            }
        }
        out += k;
        n -= k;
        d->left -= k;
    }
    return INFINO_OK;
}

bool pq_rle_match(struct pq_rle *d, size_t n, uint32_t first, uint32_t v,
                  size_t period)
{
    size_t phase = 0; /* of the next position: its index mod period */

    if (d->bit_width < 0 || d->bit_width > 32)
        return false;
    while (n > 0) {
        size_t k;
        if (d->left == 0) {
            if (d->p >= d->end || next_run(d) != INFINO_OK)
                return false;
            continue;
        }
        k = (size_t)MIN((uint64_t)n, d->left);
        if (!d->packed) {
            /* the next k positions all hold d->value: one comparison for
             * the period starts among them, one for the others */
            bool starts = period != 0 && (phase == 0 || period - phase < k);
            bool others = period == 0 ||
                          (period != 1 && (phase != 0 || k > 1));
            if ((starts && d->value != first) || (others && d->value != v))
                return false;
            if (period != 0)
                phase = (phase + k % period) % period;
        } else {
            for (size_t i = 0; i < k; i++) {
                uint32_t want = period != 0 && phase == 0 ? first : v;
                if (d->grp_pos == 8)
                    fill_group(d);
                if (d->grp[d->grp_pos++] != want)
                    return false;
                if (period != 0 && ++phase == period)
                    phase = 0;
            }
        }
        n -= k;
        d->left -= k;
    }
    return true;
}

infino_status pq_bit_packed_get_u8(uint8_t *out, size_t n, int bw,
                                   const uint8_t *p, size_t len,
                                   size_t *used_out)
{
    size_t need;

    if (bw < 0 || bw > 8)
        return corrupt("level bit width above 8");
    if (n > SIZE_MAX / 8)
        return corrupt("too many levels");
    need = (n * (size_t)bw + 7) / 8;
    if (need > len)
        return corrupt("BIT_PACKED levels truncated");
    /* Encodings.md BIT_PACKED: values packed from the most significant
     * bit of each byte down. */
    for (size_t i = 0; i < n; i++) {
        size_t bit = i * (size_t)bw;
        unsigned v = 0;
        for (int b = 0; b < bw; b++, bit++)
            v = v << 1 | ((p[bit >> 3] >> (7 - (bit & 7))) & 1u);
        out[i] = (uint8_t)v;
    }
    *used_out = need;
    return INFINO_OK;
}

/* ---- PLAIN ------------------------------------------------------------ */

infino_status pq_plain_bool(uint8_t *out, size_t n, const uint8_t *p,
                            size_t len)
{
    size_t i = 0, g = n / 8;

    if ((n + 7) / 8 > len)
        return corrupt("PLAIN booleans truncated");
    unpack_u8_1(out, p, g);
    for (i = g * 8; i < n; i++)
        out[i] = (p[i >> 3] >> (i & 7)) & 1u;
    return INFINO_OK;
}

infino_status pq_plain_byte_array(struct pq_view *out, size_t n,
                                  const uint8_t *p, size_t len,
                                  size_t *used_out)
{
    const uint8_t *q = p, *end;

    *used_out = 0;
    if (n == 0)
        return INFINO_OK;
    end = p + len;
    for (size_t i = 0; i < n; i++) {
        uint32_t m;
        if (end - q < 4)
            return corrupt("PLAIN byte array length truncated");
        m = load_u32le(q);
        q += 4;
        if (m > (size_t)(end - q))
            return corrupt("PLAIN byte array longer than the page");
        out[i].p = q;
        out[i].len = m;
        q += m;
    }
    *used_out = (size_t)(q - p);
    return INFINO_OK;
}

/* ---- DELTA_BINARY_PACKED ---------------------------------------------- */

/* Largest block we accept. Encodings.md fixes no bound; writers use 128
 * (Arrow) or 1024, and the cap keeps vpm * bit_width far from overflow. */
#define DELTA_MAX_BLOCK (1u << 20)

struct delta_hdr {
    uint64_t block;   /* values per block */
    uint64_t n_mini;  /* miniblocks per block */
    uint64_t total;   /* values in the stream */
    int64_t first;
};

static infino_status delta_header(struct rd *r, struct delta_hdr *h)
{
    if (rd_uvarint(r, &h->block) != 0 || rd_uvarint(r, &h->n_mini) != 0 ||
        rd_uvarint(r, &h->total) != 0 || rd_svarint(r, &h->first) != 0)
        return corrupt("DELTA_BINARY_PACKED header truncated");
    /* Encodings.md: the block size is a multiple of 128, the miniblock
     * size (block / n_mini) a multiple of 32. */
    if (h->block == 0 || h->block % 128 != 0 || h->block > DELTA_MAX_BLOCK ||
        h->n_mini == 0 || h->block % h->n_mini != 0 ||
        (h->block / h->n_mini) % 32 != 0)
        return corrupt("DELTA_BINARY_PACKED header invalid");
    return INFINO_OK;
}

/* Value `j` (bw bits, bw <= 64) of a miniblock of `len` bytes at `p`,
 * where the caller guarantees (j + 1) * bw bits are present. */
static uint64_t bits_at(const uint8_t *p, size_t len, uint64_t j, int bw)
{
    uint64_t bit = j * (uint64_t)bw, v = 0;
    size_t byte = (size_t)(bit >> 3);
    unsigned shift = (unsigned)(bit & 7);
    size_t nb = ((size_t)shift + (size_t)bw + 7) / 8; /* <= 9 */
    uint8_t t[16] = {0};

    memcpy(t, p + byte, MIN(nb, len - byte));
    v = load_u64le(t) >> shift;
    if (shift + (unsigned)bw > 64)
        v |= (uint64_t)t[8] << (64 - shift);
    return bw == 64 ? v : v & ((UINT64_C(1) << bw) - 1);
}

/* Decodes `n` deltas into u64 wrapping arithmetic; `max_bw` is 32 for
 * INT32 streams and 64 for INT64. out32 or out64 receives the values. */
static infino_status delta_decode(int32_t *out32, int64_t *out64, size_t n,
                                  int max_bw, const uint8_t *p, size_t len,
                                  size_t *used_out)
{
    struct rd r = rd_make(p, len);
    struct delta_hdr h = {0, 0, 0, 0};
    uint64_t prev, vpm;
    size_t i = 0;
    uint32_t tmp[32];
    infino_status st;

    if ((st = delta_header(&r, &h)) != INFINO_OK)
        return st;
    if (h.total != n)
        return err_set(INFINO_ERR_CORRUPT,
                       "DELTA_BINARY_PACKED holds %llu values, expected %zu",
                       (unsigned long long)h.total, n);
    vpm = h.block / h.n_mini;
    prev = (uint64_t)h.first;
    if (n > 0) {
        if (out32)
            out32[0] = (int32_t)(uint32_t)prev;
        else
            out64[0] = (int64_t)prev;
        i = 1;
    }
    while (i < n) {
        int64_t min_delta;
        const uint8_t *widths;
        if (rd_svarint(&r, &min_delta) != 0 ||
            rd_bytes(&r, (size_t)h.n_mini, &widths) != 0)
            return corrupt("DELTA_BINARY_PACKED block header truncated");
        for (uint64_t m = 0; m < h.n_mini && i < n; m++) {
            int bw = widths[m];
            size_t mini_len, k = (size_t)MIN(vpm, (uint64_t)(n - i)), done;
            const uint8_t *mb = NULL;
            if (bw > max_bw)
                return corrupt("DELTA_BINARY_PACKED bit width too large");
            mini_len = (size_t)(vpm * (uint64_t)bw / 8);
            /* The miniblock holding the last value is padded to full size
             * by the spec; accept a shorter one if it holds our values. */
            if (((uint64_t)k * (uint64_t)bw + 7) / 8 > rd_left(&r))
                return corrupt("DELTA_BINARY_PACKED miniblock truncated");
            mini_len = MIN(mini_len, rd_left(&r));
            (void)rd_bytes(&r, mini_len, &mb);
            for (done = 0; done < k;) {
                size_t c = MIN(k - done, (size_t)32);
                if (bw <= 32 && (done + 32) * (size_t)bw / 8 <= mini_len) {
                    pq_unpack_u32(tmp, mb + done * (size_t)bw / 8, 4, bw);
                    for (size_t j = 0; j < c; j++) {
                        prev += (uint64_t)min_delta + tmp[j];
                        if (out32)
                            out32[i + j] = (int32_t)(uint32_t)prev;
                        else
                            out64[i + j] = (int64_t)prev;
                    }
                } else {
                    for (size_t j = 0; j < c; j++) {
                        prev += (uint64_t)min_delta +
                                bits_at(mb, mini_len, done + j, bw);
                        if (out32)
                            out32[i + j] = (int32_t)(uint32_t)prev;
                        else
                            out64[i + j] = (int64_t)prev;
                    }
                }
                done += c;
                i += c;
            }
        }
    }
    *used_out = len - rd_left(&r);
    return INFINO_OK;
}

infino_status pq_delta_i32(int32_t *out, size_t n, const uint8_t *p,
                           size_t len, size_t *used_out)
{
    return delta_decode(out, NULL, n, 32, p, len, used_out);
}

infino_status pq_delta_i64(int64_t *out, size_t n, const uint8_t *p,
                           size_t len, size_t *used_out)
{
    return delta_decode(NULL, out, n, 64, p, len, used_out);
}

infino_status pq_delta_length_byte_array(struct pq_view *out, size_t n,
                                         const uint8_t *p, size_t len,
                                         int32_t *lens)
{
    size_t used, left;
    const uint8_t *q;
    infino_status st = pq_delta_i32(lens, n, p, len, &used);

    if (st != INFINO_OK)
        return err_context(st, "DELTA_LENGTH_BYTE_ARRAY lengths");
    q = p + used;
    left = len - used;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] < 0 || (size_t)lens[i] > left)
            return corrupt("DELTA_LENGTH_BYTE_ARRAY data truncated");
        out[i].p = q;
        out[i].len = (size_t)lens[i];
        q += lens[i];
        left -= (size_t)lens[i];
    }
    return INFINO_OK;
}

infino_status pq_delta_byte_array(struct pq_view *out, size_t n,
                                  const uint8_t *p, size_t len, int32_t *lens,
                                  struct buf *arena, uint64_t *budget)
{
    int32_t *prefix = lens, *suffix = lens + n;
    size_t used1, used2, left, prev_len = 0;
    uint64_t total = 0;
    const uint8_t *q;
    uint8_t *dst;
    infino_status st;

    /* Encodings.md DELTA_BYTE_ARRAY: prefix lengths (DELTA_BINARY_PACKED),
     * then the suffixes as DELTA_LENGTH_BYTE_ARRAY. */
    st = pq_delta_i32(prefix, n, p, len, &used1);
    if (st != INFINO_OK)
        return err_context(st, "DELTA_BYTE_ARRAY prefixes");
    st = pq_delta_i32(suffix, n, p + used1, len - used1, &used2);
    if (st != INFINO_OK)
        return err_context(st, "DELTA_BYTE_ARRAY suffix lengths");
    q = p + used1 + used2;
    left = len - used1 - used2;
    /* Validate every length and size the output before copying. */
    for (size_t i = 0; i < n; i++) {
        if (prefix[i] < 0 || suffix[i] < 0 || (size_t)prefix[i] > prev_len ||
            (size_t)suffix[i] > left)
            return corrupt("DELTA_BYTE_ARRAY lengths invalid");
        left -= (size_t)suffix[i];
        prev_len = (size_t)prefix[i] + (size_t)suffix[i];
        total += prev_len;
        if (total > SIZE_MAX / 2)
            return corrupt("DELTA_BYTE_ARRAY values too long");
    }
    buf_reset(arena);
    total += 1; /* never a NULL buffer, even when every value is empty */
    if (total > arena->cap &&
        (st = pq_budget_take(budget, total - arena->cap)) != INFINO_OK)
        return st;
    if ((st = buf_reserve(arena, (size_t)total)) != INFINO_OK)
        return st;
    total -= 1;
    dst = arena->data;
    for (size_t i = 0; i < n; i++) {
        size_t pre = (size_t)prefix[i], suf = (size_t)suffix[i];
        if (pre > 0)
            memmove(dst, out[i - 1].p, pre); /* i > 0: prefix 0 at i == 0 */
        memcpy(dst + pre, q, suf);
        q += suf;
        out[i].p = dst;
        out[i].len = pre + suf;
        dst += pre + suf;
    }
    arena->len = (size_t)total;
    return INFINO_OK;
}

/* ---- BYTE_STREAM_SPLIT ------------------------------------------------ */

infino_status pq_byte_stream_split(uint8_t *out, size_t n, size_t width,
                                   const uint8_t *p, size_t len)
{
    size_t stride;

    /* Encodings.md: `width` streams, stream k holding byte k of every
     * value; the stride is the number of values the buffer holds. */
    if (width == 0 || len % width != 0)
        return corrupt("BYTE_STREAM_SPLIT size is not a multiple of the "
                       "value width");
    stride = len / width;
    if (n > stride)
        return corrupt("BYTE_STREAM_SPLIT data truncated");
    if (width == 4) {
        for (size_t i = 0; i < n; i++) {
            out[4 * i + 0] = p[i];
            out[4 * i + 1] = p[stride + i];
            out[4 * i + 2] = p[2 * stride + i];
            out[4 * i + 3] = p[3 * stride + i];
        }
    } else if (width == 8) {
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < 8; k++)
                out[8 * i + k] = p[k * stride + i];
    } else {
        for (size_t k = 0; k < width; k++)
            for (size_t i = 0; i < n; i++)
                out[width * i + k] = p[k * stride + i];
    }
    return INFINO_OK;
}

/* ---- pages ------------------------------------------------------------ */

void pq_page_iter_init(struct pq_page_iter *it, const uint8_t *p, size_t len,
                       enum pq_codec codec, uint64_t *budget)
{
    memset(it, 0, sizeof *it);
    it->p = p;
    it->end = len ? p + len : p; /* p may be NULL for an empty chunk */
    it->codec = codec;
    it->verify_crc = true;
    it->budget = budget;
}

void pq_page_iter_free(struct pq_page_iter *it)
{
    buf_free(&it->scratch);
}

void pq_page_iter_seek(struct pq_page_iter *it, const uint8_t *p, size_t len)
{
    it->p = p;
    it->end = len ? p + len : p;
}

infino_status pq_page_skip(struct pq_page_iter *it, struct pq_page_header *out,
                           const uint8_t **at_out, size_t *len_out, bool *eof)
{
    struct rd r = rd_make(it->p, (size_t)(it->end - it->p));
    infino_status st;

    *eof = false;
    if (it->p >= it->end) {
        *eof = true;
        return INFINO_OK;
    }
    if ((st = pq_meta_decode_page_header(out, &r)) != INFINO_OK)
        return st;
    if (out->compressed_page_size < 0 || out->uncompressed_page_size < 0)
        return corrupt("negative page size");
    if ((size_t)out->compressed_page_size > rd_left(&r))
        return corrupt("page extends past the column chunk");
    *at_out = it->p;
    it->p = r.p + out->compressed_page_size;
    *len_out = (size_t)(it->p - *at_out);
    return INFINO_OK;
}

static bool codec_known(enum pq_codec c)
{
    return c == PQ_UNCOMPRESSED || c == PQ_SNAPPY || c == PQ_GZIP ||
           c == PQ_ZSTD;
}

/* Decompresses `n` bytes at `src` into `dst_len` bytes of scratch. */
static infino_status inflate_body(struct pq_page_iter *it, const uint8_t *src,
                                  size_t n, size_t dst_len,
                                  const uint8_t **out)
{
    static const uint8_t empty[1];
    infino_status st;

    if (it->codec == PQ_UNCOMPRESSED) {
        if (n != dst_len)
            return corrupt("uncompressed page sizes disagree");
        *out = src;
        return INFINO_OK;
    }
    if (dst_len == 0) {
        uint8_t none[1];
        *out = empty; /* never a NULL base pointer for the decoders */
        return pq_decompress(it->codec, src, n, none, 0);
    }
    if (dst_len > it->scratch.cap) {
        st = pq_budget_take(it->budget, dst_len - it->scratch.cap);
        if (st != INFINO_OK)
            return st;
        buf_reset(&it->scratch);
        if ((st = buf_reserve(&it->scratch, dst_len)) != INFINO_OK)
            return st;
    }
    st = pq_decompress(it->codec, src, n, it->scratch.data, dst_len);
    if (st != INFINO_OK)
        return st;
    *out = it->scratch.data;
    return INFINO_OK;
}

infino_status pq_page_next(struct pq_page_iter *it, struct pq_page *out,
                           bool *eof)
{
    infino_status st;

    *eof = false;
    for (;;) {
        struct rd r = rd_make(it->p, (size_t)(it->end - it->p));
        const struct pq_page_header *h = &out->h;
        struct pq_page_header hdr;
        const uint8_t *body;
        size_t clen, ulen;

        if (it->p >= it->end) {
            *eof = true;
            return INFINO_OK;
        }
        if ((st = pq_meta_decode_page_header(&hdr, &r)) != INFINO_OK)
            return st;
        memset(out, 0, sizeof *out);
        out->h = hdr;
        if (h->compressed_page_size < 0 || h->uncompressed_page_size < 0)
            return corrupt("negative page size");
        clen = (size_t)h->compressed_page_size;
        ulen = (size_t)h->uncompressed_page_size;
        if (clen > rd_left(&r))
            return corrupt("page extends past the column chunk");
        body = r.p;
        it->p = r.p + clen;
        /* parquet.thrift PageHeader.crc: standard CRC-32 of the page as
         * stored (after compression), excluding the header. */
        if (h->has_crc && it->verify_crc &&
            (uint32_t)crc32(0, body, (uInt)clen) != (uint32_t)h->crc)
            return corrupt("page CRC mismatch");
        if (h->type != PQ_PAGE_DATA && h->type != PQ_PAGE_DATA_V2 &&
            h->type != PQ_PAGE_DICTIONARY)
            continue; /* index pages and types from the future */
        if (!codec_known(it->codec))
            return err_set(INFINO_ERR_UNSUPPORTED, "compression codec %s (%d)",
                           pq_codec_name((int)it->codec), (int)it->codec);
        if (h->type == PQ_PAGE_DICTIONARY) {
            if (!h->has_dict_page || h->dict_page.num_values < 0)
                return corrupt("dictionary page header missing or invalid");
            out->num_values = h->dict_page.num_values;
            out->encoding = h->dict_page.encoding;
            st = inflate_body(it, body, clen, ulen, &out->body);
            out->body_len = ulen;
            return st;
        }
        if (h->type == PQ_PAGE_DATA) {
            const struct pq_data_page_header *dp = &h->data_page;
            if (!h->has_data_page || dp->num_values < 0)
                return corrupt("data page header missing or invalid");
            out->num_values = dp->num_values;
            out->encoding = dp->encoding;
            out->rep_encoding = dp->rep_encoding;
            out->def_encoding = dp->def_encoding;
            st = inflate_body(it, body, clen, ulen, &out->body);
            out->body_len = ulen;
            out->levels = out->body;
            return st;
        }
        {
            const struct pq_data_page_header_v2 *dp = &h->data_page_v2;
            size_t lv;
            if (!h->has_data_page_v2 || dp->num_values < 0 ||
                dp->num_nulls < 0 || dp->num_rows < 0 ||
                dp->num_nulls > dp->num_values || dp->def_levels_len < 0 ||
                dp->rep_levels_len < 0)
                return corrupt("data page v2 header missing or invalid");
            lv = (size_t)dp->rep_levels_len + (size_t)dp->def_levels_len;
            if (lv > clen || lv > ulen)
                return corrupt("data page v2 levels longer than the page");
            out->v2 = true;
            out->num_values = dp->num_values;
            out->encoding = dp->encoding;
            out->rep_encoding = out->def_encoding = PQ_ENC_RLE;
            out->levels = body;
            out->rep_len = (size_t)dp->rep_levels_len;
            out->def_len = (size_t)dp->def_levels_len;
            /* Only the value section is compressed (is_compressed). */
            if (dp->is_compressed) {
                st = inflate_body(it, body + lv, clen - lv, ulen - lv,
                                  &out->values);
            } else {
                if (clen != ulen)
                    return corrupt("uncompressed page sizes disagree");
                out->values = body + lv;
                st = INFINO_OK;
            }
            out->values_len = ulen - lv;
            return st;
        }
    }
}
