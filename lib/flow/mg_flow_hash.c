/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The flow table's index: a bucketed cuckoo hash from a packet's 4-tuple to
 * a flow reference, which keeps no keys of its own.
 *
 * Why not rte_hash: rte_hash keeps a copy of every key (and a data pointer)
 * in a key store apart from its buckets, so a lookup touches the bucket, the
 * key-store entry and then the flow: three cache lines per packet, and
 * 2 x (16 + 8) bytes of key store per flow. Both of a flow's keys are already
 * in its own cache line (the client's 4-tuple at offset 0, the endpoint's at
 * offset 12, in packet order), so here a bucket holds only a 32-bit hash
 * ("signature") and the reference, and the key is checked against the flow
 * line that the packet needs next anyway: two cache lines per packet, 24
 * bytes of index per flow, and about half of rte_hash's instructions (no
 * key-store indirection, no hash-function pointer, no free-slot ring). The
 * price is a contract: a key is bound to a flow only while the flow's own
 * fields spell it (mg_flow.h).
 *
 * Layout: n_buckets 64-byte buckets of 8 slots (signature, reference),
 * n_buckets = 3/8 x flows, so with at most two keys per flow the table is at
 * most 2/3 full. A key may live in two buckets, both derived from its
 * signature: b1 = sig scaled to n_buckets, b2 = the same of a second CRC of
 * the signature. A lookup reads b1 (prefetched a whole burst ahead), and b2
 * only when b1 has no match, which at this load is rare for a bound key.
 * An insert takes a free slot of b1 or b2, else moves one entry of b1 or b2
 * to its other bucket, else one entry of that bucket one step further
 * (a breadth-first search two moves deep, found before anything moves, so
 * a failure leaves the table as it was). At 2/3 load with 8-slot buckets
 * the search practically never fails; if it does the bind returns -ENOSPC
 * and the connection is refused like one past a full table.
 *
 * The signature is CRC32-C of the 12 bytes of the tuple (two crc32
 * instructions). CRC is linear, so a sender who controls source addresses
 * and ports can aim keys at one bucket pair; the damage is bounded by the
 * SYN-flood limits (a flow exists only after a handshake or within
 * maxHalfOpen) and stays with the colliding keys: their binds fail, lookups
 * of other keys still read two buckets at most.
 */
#include <errno.h>
#include <string.h>

#include <rte_hash_crc.h>
#include <rte_prefetch.h>
#ifdef RTE_ARCH_X86
#include <emmintrin.h>
#endif

#include "mg_flow.h"

#define MG_FLOW_SIG_EMPTY 0u
#define MG_FLOW_ALT_SEED 0x9e3779b9u

/* A bound key's flow fields, in packet order: see the asserts in mg_flow.h. */
static inline int
key_matches(const struct mg_flow_table *ft, uint32_t ref, const struct mg_flow_key *k)
{
	const uint8_t *p = (const uint8_t *)&ft->flows[MG_FLOW_REF_IDX(ref)] +
			   MG_FLOW_REF_DIR(ref) * MG_FLOW_KEY_SIDE_BYTES;
	uint64_t a, b;
	uint32_t c, d;

	memcpy(&a, p, 8);
	memcpy(&b, k, 8);
	memcpy(&c, p + 8, 4);
	memcpy(&d, (const uint8_t *)k + 8, 4);
	return a == b && c == d;
}

static inline uint32_t
key_sig(const struct mg_flow_key *k)
{
	uint64_t a;
	uint32_t b, h;

	memcpy(&a, k, 8);
	memcpy(&b, (const uint8_t *)k + 8, 4);
	h = rte_hash_crc_4byte(b, rte_hash_crc_8byte(a, 0));
	return h != MG_FLOW_SIG_EMPTY ? h : 1;
}

/* Bit s set: slot s of @p bk holds @p sig (two SSE2 compares on x86). */
static inline uint32_t
bucket_match(const struct mg_flow_bucket *bk, uint32_t sig)
{
#ifdef RTE_ARCH_X86
	__m128i v = _mm_set1_epi32((int)sig);
	__m128i lo = _mm_load_si128((const __m128i *)&bk->sig[0]);
	__m128i hi = _mm_load_si128((const __m128i *)&bk->sig[4]);

	return (uint32_t)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(lo, v))) |
	       (uint32_t)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(hi, v))) << 4;
#else
	uint32_t m = 0;

	for (int s = 0; s < MG_FLOW_BUCKET_SLOTS; s++)
		m |= (uint32_t)(bk->sig[s] == sig) << s;
	return m;
#endif
}

static inline uint32_t
scale(uint32_t h, uint32_t n)
{
	return (uint32_t)(((uint64_t)h * n) >> 32);
}

static inline uint32_t
bucket1(const struct mg_flow_table *ft, uint32_t sig)
{
	return scale(sig, ft->n_buckets);
}

/* The other bucket of a signature found in bucket @p b. */
static inline uint32_t
bucket_alt(const struct mg_flow_table *ft, uint32_t sig, uint32_t b)
{
	uint32_t b1 = bucket1(ft, sig);
	uint32_t b2 = scale(rte_hash_crc_4byte(sig, MG_FLOW_ALT_SEED), ft->n_buckets);

	if (b2 == b1)
		b2 = b1 + 1 == ft->n_buckets ? 0 : b1 + 1;
	return b == b1 ? b2 : b1;
}

/* The slot (bucket << 3 | slot) holding @p k, or -1. */
static int64_t
find_slot(const struct mg_flow_table *ft, const struct mg_flow_key *k, uint32_t sig)
{
	uint32_t b = bucket1(ft, sig);

	for (int pass = 0; pass < 2; pass++) {
		const struct mg_flow_bucket *bk = &ft->buckets[b];

		for (uint32_t m = bucket_match(bk, sig); m != 0; m &= m - 1) {
			int s = __builtin_ctz(m);

			if (key_matches(ft, bk->ref[s], k))
				return (int64_t)b * MG_FLOW_BUCKET_SLOTS + s;
		}
		b = bucket_alt(ft, sig, b);
	}
	return -1;
}

static inline int
free_slot(const struct mg_flow_bucket *bk)
{
	uint32_t m = bucket_match(bk, MG_FLOW_SIG_EMPTY);

	return m != 0 ? __builtin_ctz(m) : -1;
}

static inline void
slot_move(struct mg_flow_table *ft, uint32_t from_b, int from_s, uint32_t to_b, int to_s)
{
	struct mg_flow_bucket *f = &ft->buckets[from_b], *t = &ft->buckets[to_b];

	t->sig[to_s] = f->sig[from_s];
	t->ref[to_s] = f->ref[from_s];
	ft->key_moves++;
}

/* Free a slot in bucket @p b by moving its entries along (at most two
 * moves). @return the freed slot, or -1 (nothing moved). */
static int
make_room(struct mg_flow_table *ft, uint32_t b)
{
	const struct mg_flow_bucket *bk = &ft->buckets[b];

	for (int s = 0; s < MG_FLOW_BUCKET_SLOTS; s++) {
		uint32_t a = bucket_alt(ft, bk->sig[s], b);
		int f = free_slot(&ft->buckets[a]);

		if (f >= 0) {
			slot_move(ft, b, s, a, f);
			return s;
		}
	}
	for (int s = 0; s < MG_FLOW_BUCKET_SLOTS; s++) {
		uint32_t a = bucket_alt(ft, bk->sig[s], b);
		const struct mg_flow_bucket *ak = &ft->buckets[a];

		for (int t = 0; t < MG_FLOW_BUCKET_SLOTS; t++) {
			uint32_t c = bucket_alt(ft, ak->sig[t], a);
			int f = free_slot(&ft->buckets[c]);

			if (f >= 0) {
				slot_move(ft, a, t, c, f);
				slot_move(ft, b, s, a, t);
				return s;
			}
		}
	}
	return -1;
}

int
mg_flow_bind(struct mg_flow_table *ft, const struct mg_flow_key *k, uint32_t idx, int dir)
{
	uint32_t sig = key_sig(k), ref = MG_FLOW_REF(idx, dir);
	uint32_t b[2], free_b = 0;
	int free_s = -1;

	if (unlikely(!key_matches(ft, ref, k)))
		return -EINVAL; /* the contract of mg_flow.h: it could never be found */
	ft->key_changes++;
	/* One pass over both buckets: the key bound already (it moves to
	 * this flow), and the first free slot. */
	b[0] = bucket1(ft, sig);
	b[1] = bucket_alt(ft, sig, b[0]);
	for (int i = 0; i < 2; i++) {
		struct mg_flow_bucket *bk = &ft->buckets[b[i]];

		for (uint32_t m = bucket_match(bk, sig); m != 0; m &= m - 1) {
			int s = __builtin_ctz(m);

			if (key_matches(ft, bk->ref[s], k)) {
				bk->ref[s] = ref;
				return 0;
			}
		}
		if (free_s < 0) {
			free_s = free_slot(bk);
			free_b = b[i];
		}
	}
	for (int i = 0; i < 2 && free_s < 0; i++) {
		free_s = make_room(ft, b[i]);
		free_b = b[i];
	}
	if (free_s < 0)
		return -ENOSPC;
	ft->buckets[free_b].sig[free_s] = sig;
	ft->buckets[free_b].ref[free_s] = ref;
	ft->n_keys++;
	return 0;
}

void
mg_flow_unbind(struct mg_flow_table *ft, const struct mg_flow_key *k)
{
	int64_t at = find_slot(ft, k, key_sig(k));
	struct mg_flow_bucket *bk;

	ft->key_changes++;
	if (at < 0)
		return;
	bk = &ft->buckets[at / MG_FLOW_BUCKET_SLOTS];
	bk->sig[at % MG_FLOW_BUCKET_SLOTS] = MG_FLOW_SIG_EMPTY;
	bk->ref[at % MG_FLOW_BUCKET_SLOTS] = MG_FLOW_NONE;
	ft->n_keys--;
}

void
mg_flow_prefetch_keys(const struct mg_flow_table *ft, uint32_t idx)
{
	const struct mg_flow *f = &ft->flows[idx];
	struct mg_flow_key k;

	mg_flow_client_key(f, &k);
	rte_prefetch0(&ft->buckets[bucket1(ft, key_sig(&k))]);
	if (f->ep_ip != 0) {
		mg_flow_ep_key(f, &k);
		rte_prefetch0(&ft->buckets[bucket1(ft, key_sig(&k))]);
	}
}

uint32_t
mg_flow_lookup(struct mg_flow_table *ft, const struct mg_flow_key *k)
{
	int64_t at = find_slot(ft, k, key_sig(k));

	if (at < 0)
		return MG_FLOW_NONE;
	return ft->buckets[at / MG_FLOW_BUCKET_SLOTS].ref[at % MG_FLOW_BUCKET_SLOTS];
}

uint32_t
mg_flow_lookup_recheck(struct mg_flow_table *ft, const struct mg_flow_key *k, uint32_t ref)
{
	if (ref != MG_FLOW_NONE && ft->flows[MG_FLOW_REF_IDX(ref)].state != 0 &&
	    key_matches(ft, ref, k))
		return ref;
	return mg_flow_lookup(ft, k);
}

/*
 * Three passes over the burst so that each one's cache misses overlap:
 * signatures and first buckets prefetched; the first signature match in
 * each first bucket taken as a candidate and its flow line prefetched; the
 * candidate checked against its flow line, and the rare rest (no match in
 * the first bucket, or a signature collision) looked up the long way.
 */
void
mg_flow_lookup_bulk(struct mg_flow_table *ft, const struct mg_flow_key **keys,
		    uint32_t n, uint32_t *refs)
{
	uint32_t sig[MG_FLOW_LOOKUP_BULK_MAX];

	RTE_ASSERT(n <= MG_FLOW_LOOKUP_BULK_MAX);
	for (uint32_t i = 0; i < n; i++) {
		sig[i] = key_sig(keys[i]);
		rte_prefetch0(&ft->buckets[bucket1(ft, sig[i])]);
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct mg_flow_bucket *bk = &ft->buckets[bucket1(ft, sig[i])];

		uint32_t m = bucket_match(bk, sig[i]);

		refs[i] = MG_FLOW_NONE;
		if (m != 0) {
			refs[i] = bk->ref[__builtin_ctz(m)];
			rte_prefetch0(&ft->flows[MG_FLOW_REF_IDX(refs[i])]);
		}
	}
	for (uint32_t i = 0; i < n; i++)
		if (unlikely(refs[i] == MG_FLOW_NONE || !key_matches(ft, refs[i], keys[i]))) {
			int64_t at = find_slot(ft, keys[i], sig[i]);

			refs[i] = at < 0 ? MG_FLOW_NONE :
				  ft->buckets[at / MG_FLOW_BUCKET_SLOTS].ref[at % MG_FLOW_BUCKET_SLOTS];
		}
}

uint32_t
mg_flow_index_slots_used(const struct mg_flow_table *ft)
{
	uint32_t used = 0;

	for (uint32_t b = 0; b < ft->n_buckets; b++)
		used += (uint32_t)__builtin_popcount(
			~bucket_match(&ft->buckets[b], MG_FLOW_SIG_EMPTY) & 0xff);
	return used;
}
