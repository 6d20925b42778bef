/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_SYNCOOKIE_H
#define MG_SYNCOOKIE_H

/**
 * @file
 * SYN cookies: a SYN+ACK whose initial sequence number carries, under a
 * keyed MAC, everything needed to accept the client's ACK later, so that a
 * SYN costs no state at all.
 *
 * The 32-bit cookie (our ISN toward the client) is laid out as
 *
 *   31..27  time slot, 5 bits (the worker clock in 64-second slots, mod 32)
 *   26..24  index of the client's MSS in a table of 8 common values
 *   23..0   MAC: SipHash-2-4 under a 128-bit secret of
 *           (client addr, VIP, ports, client ISN, full slot, MSS index)
 *
 * A cookie is accepted in the slot it was made and the next one (64 to 128
 * seconds). An attacker who does not see our SYN+ACKs guesses a valid ACK
 * with probability 2^-24 per try, as with Linux's cookies; the worker also
 * accepts cookie ACKs only while it has sent cookies recently.
 *
 * What a cookie cannot carry is the rest of the client's options: the
 * connection negotiated this way has no window scaling, SACK or timestamps.
 * That is the price, and why cookies engage only under pressure (see
 * mg_proxy.h) unless the operator asks for them always.
 *
 * Pure functions of their arguments; SipHash is written here because DPDK
 * has no keyed MAC fit for a packet path (rte_jhash is not keyed in any
 * cryptographic sense, OpenSSL's EVP is far too slow per packet).
 */

#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The secret of a gateway's cookies (random at start). */
struct mg_syncookie_key {
	uint64_t k0, k1;
};

/** The MSS values a cookie can carry, smallest first. */
#define MG_SYNCOOKIE_N_MSS 8
extern const uint16_t mg_syncookie_mss[MG_SYNCOOKIE_N_MSS];

/** Seconds per time slot (a power of two of milliseconds: 65.536 s). */
#define MG_SYNCOOKIE_SLOT_SHIFT 16

/** SipHash-2-4 of four 64-bit words under @p key. */
uint64_t mg_siphash24_4w(const struct mg_syncookie_key *key, uint64_t a, uint64_t b,
			 uint64_t c, uint64_t d);

/**
 * The cookie for a SYN from @p saddr:@p sport to @p daddr:@p dport (all in
 * network order, as in the packet) with sequence number @p isn and MSS
 * option @p mss (0 when absent: 536 is assumed), at worker time @p now_ms.
 * The MSS is rounded down to the table (never below its first entry).
 */
uint32_t mg_syncookie_make(const struct mg_syncookie_key *key, uint32_t saddr, uint32_t daddr,
			   uint16_t sport, uint16_t dport, uint32_t isn, uint16_t mss,
			   uint32_t now_ms);

/**
 * Check the ACK that completes a cookie handshake: @p isn is the ACK's
 * sequence number - 1, @p cookie its acknowledgment number - 1.
 * @return the MSS the cookie carries, or 0 when it is not ours, altered or
 * too old.
 */
uint16_t mg_syncookie_check(const struct mg_syncookie_key *key, uint32_t saddr, uint32_t daddr,
			    uint16_t sport, uint16_t dport, uint32_t isn, uint32_t cookie,
			    uint32_t now_ms);

/**
 * The MSS option of a TCP header's options (@p len bytes at @p opt), 0 when
 * absent or malformed. Walks the options defensively: never reads past @p len.
 */
uint16_t mg_tcp_opt_mss(const uint8_t *opt, uint32_t len);

#ifdef __cplusplus
}
#endif
#endif /* MG_SYNCOOKIE_H */
