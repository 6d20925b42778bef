/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SYN cookies (see mg_syncookie.h for the layout and its trade-offs).
 *
 * The MAC is SipHash-2-4 (Aumasson and Bernstein, 2012) over a 32-byte
 * message of four 64-bit words, the same keyed function Linux uses for its
 * cookies: about 40 ns here, paid once per SYN answered by a cookie and once
 * per ACK that claims one, never on an established flow.
 */
#include "mg_syncookie.h"

const uint16_t mg_syncookie_mss[MG_SYNCOOKIE_N_MSS] = {
	536, 1220, 1300, 1360, 1400, 1440, 1452, 1460,
};

static inline uint64_t
rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND(v0, v1, v2, v3) do { \
	v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32); \
	v2 += v3; v3 = rotl(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = rotl(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32); \
} while (0)

uint64_t
mg_siphash24_4w(const struct mg_syncookie_key *key, uint64_t a, uint64_t b, uint64_t c,
		uint64_t d)
{
	uint64_t v0 = key->k0 ^ UINT64_C(0x736f6d6570736575);
	uint64_t v1 = key->k1 ^ UINT64_C(0x646f72616e646f6d);
	uint64_t v2 = key->k0 ^ UINT64_C(0x6c7967656e657261);
	uint64_t v3 = key->k1 ^ UINT64_C(0x7465646279746573);
	const uint64_t m[5] = { a, b, c, d, (uint64_t)32 << 56 };

	for (int i = 0; i < 5; i++) {
		v3 ^= m[i];
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m[i];
	}
	v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static inline uint32_t
cookie_mac(const struct mg_syncookie_key *key, uint32_t saddr, uint32_t daddr, uint16_t sport,
	   uint16_t dport, uint32_t isn, uint32_t slot, uint32_t mss_idx)
{
	uint64_t h = mg_siphash24_4w(key, ((uint64_t)saddr << 32) | daddr,
				     ((uint64_t)sport << 48) | ((uint64_t)dport << 32) | isn,
				     slot, mss_idx);

	return (uint32_t)h & 0xffffff;
}

uint32_t
mg_syncookie_make(const struct mg_syncookie_key *key, uint32_t saddr, uint32_t daddr,
		  uint16_t sport, uint16_t dport, uint32_t isn, uint16_t mss, uint32_t now_ms)
{
	uint32_t slot = now_ms >> MG_SYNCOOKIE_SLOT_SHIFT;
	uint32_t idx = 0;

	if (mss == 0)
		mss = 536;
	for (uint32_t i = MG_SYNCOOKIE_N_MSS; i-- > 0;)
		if (mg_syncookie_mss[i] <= mss) {
			idx = i;
			break;
		}
	return ((slot & 0x1f) << 27) | (idx << 24) |
	       cookie_mac(key, saddr, daddr, sport, dport, isn, slot, idx);
}

uint16_t
mg_syncookie_check(const struct mg_syncookie_key *key, uint32_t saddr, uint32_t daddr,
		   uint16_t sport, uint16_t dport, uint32_t isn, uint32_t cookie, uint32_t now_ms)
{
	uint32_t now_slot = now_ms >> MG_SYNCOOKIE_SLOT_SHIFT;
	uint32_t idx = (cookie >> 24) & 0x7;

	/* The slot it names must be this one or the previous one. */
	for (uint32_t age = 0; age < 2; age++) {
		uint32_t slot = now_slot - age;

		if ((slot & 0x1f) != cookie >> 27)
			continue;
		if (cookie_mac(key, saddr, daddr, sport, dport, isn, slot, idx) ==
		    (cookie & 0xffffff))
			return mg_syncookie_mss[idx];
	}
	return 0;
}

uint16_t
mg_tcp_opt_mss(const uint8_t *opt, uint32_t len)
{
	uint32_t i = 0;

	while (i < len) {
		uint8_t kind = opt[i];

		if (kind == 0)          /* end of options */
			break;
		if (kind == 1) {        /* no-op */
			i++;
			continue;
		}
		if (i + 1 >= len || opt[i + 1] < 2 || i + opt[i + 1] > len)
			break;
		if (kind == 2 && opt[i + 1] == 4)
			return (uint16_t)((opt[i + 2] << 8) | opt[i + 3]);
		i += opt[i + 1];
	}
	return 0;
}
