/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_TCP_H
#define MG_TCP_H

/**
 * @file
 * TCP connection state, as seen by a middlebox that relays one connection
 * between two peers: the client ("orig" direction, client -> VIP) and the
 * endpoint ("reply" direction, endpoint -> gateway).
 *
 * The state machine is the one the Linux/IPVS connection trackers use, reduced
 * to what a full-NAT proxy must know: when a flow may carry data, when each
 * side has closed, and when it can be forgotten. It is a pure function of
 * (state, direction, flags): mg_tcp_next() is a table lookup, so the worker
 * pays one load per segment and the same table can later drive a terminating
 * TCP endpoint (HBONE), which adds sequence tracking on top (mg_tcp_seq_*).
 *
 *   NONE --SYN(orig)--> SYN_SENT --SYN+ACK(reply)--> SYN_RECV --ACK(orig)--> ESTABLISHED
 *   ESTABLISHED --FIN(either)--> FIN_WAIT --FIN(other)--> LAST_ACK --ACK--> TIME_WAIT
 *   ESTABLISHED/FIN_WAIT --FIN(same side again)--> unchanged (retransmission)
 *   any --RST(either)--> CLOSE
 *
 * FIN_WAIT remembers which side closed first (MG_TCP_FIN_ORIG / _REPLY flags
 * kept by the caller in the flow), so that a FIN from the *other* side moves
 * on to LAST_ACK and a repeated FIN from the same side does not.
 */

#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* TCP flag bits, as in the header's 13th byte. */
#define MG_TCP_FIN 0x01
#define MG_TCP_SYN 0x02
#define MG_TCP_RST 0x04
#define MG_TCP_PSH 0x08
#define MG_TCP_ACK 0x10
#define MG_TCP_URG 0x20

/* FIN bookkeeping bits kept by the caller in the flow (opaque to it). */
#define MG_TCP_FIN_ORIG 0x01        /**< the client sent a FIN */
#define MG_TCP_FIN_REPLY 0x02       /**< the endpoint sent a FIN */
#define MG_TCP_FIN_REPLY_FIRST 0x04 /**< the endpoint's FIN came first */

enum mg_tcp_state {
	MG_TCP_NONE = 0,     /**< no state yet */
	MG_TCP_SYN_SENT,     /**< client SYN relayed, waiting for the endpoint's SYN+ACK */
	MG_TCP_SYN_RECV,     /**< endpoint SYN+ACK relayed, waiting for the client's ACK */
	MG_TCP_ESTABLISHED,  /**< data flows both ways */
	MG_TCP_FIN_WAIT,     /**< one side sent FIN */
	MG_TCP_LAST_ACK,     /**< both sides sent FIN, waiting for the last ACK */
	MG_TCP_TIME_WAIT,    /**< closed both ways; kept briefly for stray segments */
	MG_TCP_CLOSE,        /**< reset; kept briefly, then removed */
	MG_TCP_STATE__MAX
};

/** Direction of a segment relative to the connection's opener. */
enum mg_tcp_dir {
	MG_TCP_DIR_ORIG = 0,  /**< client -> endpoint */
	MG_TCP_DIR_REPLY = 1, /**< endpoint -> client */
};

/** Result of feeding one segment to the state machine. */
struct mg_tcp_step {
	uint8_t state;   /**< new enum mg_tcp_state */
	uint8_t fin_dir; /**< updated FIN bookkeeping (MG_TCP_FIN_* bits) */
	bool valid;      /**< false: the segment does not fit the state; drop it, keep state */
};

/**
 * Advance the state for one segment.
 * @param state   current enum mg_tcp_state
 * @param fin_dir FIN bookkeeping kept in the flow (0 initially)
 * @param dir     enum mg_tcp_dir of the segment
 * @param flags   TCP flags of the segment
 *
 * Rules beyond the diagram: a bare SYN in SYN_SENT from orig is valid (the
 * client's retransmission; the caller absorbs it). A SYN in ESTABLISHED or
 * later is invalid, except the endpoint's SYN+ACK retransmission in
 * ESTABLISHED (the client's ACK was lost after us; conntrack lets it pass so
 * the client can answer it again). RST is valid in every state and leads to CLOSE. A segment
 * with no SYN/FIN/RST keeps the state, except ACK(orig) in SYN_RECV, which
 * establishes, and ACK in LAST_ACK from the side that sent the first FIN,
 * which moves to TIME_WAIT. In TIME_WAIT a new SYN from orig is reported as
 * valid with state SYN_SENT (port reuse), so the caller may recycle the flow.
 */
struct mg_tcp_step mg_tcp_next(uint8_t state, uint8_t fin_dir,
			       enum mg_tcp_dir dir, uint8_t flags);

/**
 * mg_tcp_next() with the common case inline: an ACK without SYN, FIN or RST
 * in ESTABLISHED keeps everything (most segments of a flow's life).
 */
static inline struct mg_tcp_step
mg_tcp_next_fast(uint8_t state, uint8_t fin_dir, enum mg_tcp_dir dir, uint8_t flags)
{
	if (__builtin_expect(state == MG_TCP_ESTABLISHED &&
			     (flags & (MG_TCP_SYN | MG_TCP_FIN | MG_TCP_RST | MG_TCP_ACK)) ==
			     MG_TCP_ACK, 1)) {
		struct mg_tcp_step r = { .state = state, .fin_dir = fin_dir, .valid = true };

		return r;
	}
	return mg_tcp_next(state, fin_dir, dir, flags);
}

/** Printable name of a state ("ESTABLISHED", ...); never NULL. */
const char *mg_tcp_state_name(uint8_t state);

/** True when the state lets payload through (SYN_RECV..LAST_ACK). */
static inline bool
mg_tcp_state_carries_data(uint8_t state)
{
	return state >= MG_TCP_SYN_RECV && state <= MG_TCP_LAST_ACK;
}

/* Sequence-space comparisons (RFC 793 modulo 2^32). */
static inline bool mg_tcp_seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool mg_tcp_seq_leq(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline bool mg_tcp_seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline bool mg_tcp_seq_geq(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }

/** Per-state idle timeouts in milliseconds, indexed by enum mg_tcp_state. */
struct mg_tcp_timeouts {
	uint32_t ms[MG_TCP_STATE__MAX];
};

/** Fill @p t with meshgate's defaults (see doc/operator-guide.md). */
void mg_tcp_timeouts_default(struct mg_tcp_timeouts *t);

#ifdef __cplusplus
}
#endif
#endif /* MG_TCP_H */
