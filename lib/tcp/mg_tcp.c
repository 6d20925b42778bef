/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP connection tracking for a relaying middlebox (see mg_tcp.h).
 *
 * How mg_tcp_next() works
 * -----------------------
 * 1. The segment's flags are reduced to a flag class, by one lookup of the
 *    SYN, FIN, RST and ACK bits (PSH, URG, ECE and CWR do not matter):
 *
 *      SYN      SYN without ACK              SYNACK  SYN+ACK
 *      FIN      FIN, with or without ACK     ACK     ACK alone (data, window)
 *      RST      RST, with ACK and/or FIN     NONE    none of SYN/FIN/RST/ACK
 *      BAD      SYN+FIN or SYN+RST: no stack sends these
 *
 * 2. The FIN bookkeeping (fin_dir, kept by the caller in the flow) refines
 *    two classes, so that the table itself stays a pure lookup:
 *
 *      FIN  -> FIN_AGAIN   the sender already sent a FIN: a retransmission
 *      ACK  -> ACK_CLOSER  the sender is the side that sent the first FIN:
 *                          in LAST_ACK this is the ACK of the other side's
 *                          FIN, which ends the connection (TIME_WAIT)
 *
 * 3. tcp_fsm[state][dir][class] gives the next state, whether the segment is
 *    valid there, and what to do with fin_dir: record this side's FIN, or
 *    clear it all (a new connection on the same tuple). An invalid segment
 *    leaves state and fin_dir as they were.
 *
 * fin_dir bits: FIN_ORIG (0x01) and FIN_REPLY (0x02) as documented in
 * mg_tcp.h, plus FIN_REPLY_FIRST (0x04): the reply side's FIN came first, so
 * that LAST_ACK still knows who closed first once both FIN bits are set.
 *
 * Rules the table encodes, beyond the diagram in mg_tcp.h:
 * - NONE accepts only a SYN from orig; anything else has no connection to
 *   belong to (a stray RST or ACK must not create state).
 * - SYN_SENT: a bare SYN from orig is the client's retransmission (valid, the
 *   caller absorbs it); from orig nothing else but RST is valid. From reply
 *   only SYN+ACK (on to SYN_RECV) or RST. No simultaneous open: a SYN from
 *   reply, or a SYN+ACK from orig, is invalid in every state.
 * - SYN_RECV: SYN+ACK from reply is the endpoint's retransmission, a SYN from
 *   orig the client's (its SYN+ACK got lost): both valid, state kept. ACK
 *   from orig establishes. A FIN from either side (the client may close right
 *   after its handshake ACK) goes to FIN_WAIT.
 * - ESTABLISHED and later: any segment with SYN is invalid, except a new SYN
 *   from orig in TIME_WAIT or CLOSE, which starts over (port reuse).
 * - Segments without SYN/FIN/RST keep the state, except ACK from orig in
 *   SYN_RECV (-> ESTABLISHED) and ACK_CLOSER in LAST_ACK (-> TIME_WAIT).
 *   FIN_AGAIN never changes the state. FIN in TIME_WAIT or CLOSE is a late
 *   retransmission, valid, not recorded.
 * - RST is valid in every connection state and leads to CLOSE.
 * - NONE (no control flag, not even ACK) and BAD are invalid everywhere.
 */
#include <stddef.h>

#include "mg_tcp.h"

#define mg_unlikely(x) __builtin_expect(!!(x), 0)

/* fin_dir bits (bit 0 and 1 as documented in mg_tcp.h). */
#define FIN_REPLY_FIRST MG_TCP_FIN_REPLY_FIRST

/* Flag classes, the last index of tcp_fsm. */
enum {
	C_NONE,
	C_SYN,
	C_SYNACK,
	C_FIN,
	C_FIN_AGAIN,
	C_ACK,
	C_ACK_CLOSER,
	C_RST,
	C_BAD,
	C__MAX
};

/*
 * Flag class by (FIN, SYN, RST, ACK), packed as bit 0..3: the FIN, SYN and
 * RST bits stay where they are in the header, ACK (0x10) moves down to 0x08.
 */
#define FLAG_INDEX(f) (((f) & 0x07) | (((f) & MG_TCP_ACK) >> 1))

static const uint8_t flag_class[16] = {
	[0x0] = C_NONE,   /* - */
	[0x1] = C_FIN,    /* FIN */
	[0x2] = C_SYN,    /* SYN */
	[0x3] = C_BAD,    /* SYN FIN */
	[0x4] = C_RST,    /* RST */
	[0x5] = C_RST,    /* RST FIN */
	[0x6] = C_BAD,    /* RST SYN */
	[0x7] = C_BAD,    /* RST SYN FIN */
	[0x8] = C_ACK,    /* ACK */
	[0x9] = C_FIN,    /* ACK FIN */
	[0xa] = C_SYNACK, /* ACK SYN */
	[0xb] = C_BAD,    /* ACK SYN FIN */
	[0xc] = C_RST,    /* ACK RST */
	[0xd] = C_RST,    /* ACK RST FIN */
	[0xe] = C_BAD,    /* ACK RST SYN */
	[0xf] = C_BAD,    /* ACK RST SYN FIN */
};

/* A table entry: next state (bits 0..3) and what to do. */
#define E_STATE   0x0f
#define E_VALID   0x10 /* the segment fits the state */
#define E_FIN     0x20 /* record that this direction sent a FIN */
#define E_NEW     0x40 /* a new connection: forget the FIN bookkeeping */

/* Shorthands that keep the table one row per direction. */
#define sNO MG_TCP_NONE
#define sSS MG_TCP_SYN_SENT
#define sSR MG_TCP_SYN_RECV
#define sES MG_TCP_ESTABLISHED
#define sFW MG_TCP_FIN_WAIT
#define sLA MG_TCP_LAST_ACK
#define sTW MG_TCP_TIME_WAIT
#define sCL MG_TCP_CLOSE

#define IV       0                    /* invalid: drop, keep state */
#define OK(s)    ((s) | E_VALID)      /* valid, go to (or stay in) s */
#define FIN(s)   (OK(s) | E_FIN)      /* valid, go to s, record the FIN */
#define NEW(s)   (OK(s) | E_NEW)      /* valid, a new connection in s */

static const uint8_t tcp_fsm[MG_TCP_STATE__MAX][2][C__MAX] = {
/*                    NONE       SYN        SYNACK     FIN        FIN_AGAIN  ACK        ACK_CLOSER RST        BAD */
[sNO] = {
	/* orig  */ { IV,        NEW(sSS),  IV,        IV,        IV,        IV,        IV,        IV,        IV },
	/* reply */ { IV,        IV,        IV,        IV,        IV,        IV,        IV,        IV,        IV },
},
[sSS] = {
	/* orig  */ { IV,        OK(sSS),   IV,        IV,        IV,        IV,        IV,        OK(sCL),   IV },
	/* reply */ { IV,        IV,        OK(sSR),   IV,        IV,        IV,        IV,        OK(sCL),   IV },
},
[sSR] = {
	/* orig  */ { IV,        OK(sSR),   IV,        FIN(sFW),  OK(sSR),   OK(sES),   OK(sES),   OK(sCL),   IV },
	/* reply */ { IV,        IV,        OK(sSR),   FIN(sFW),  OK(sSR),   OK(sSR),   OK(sSR),   OK(sCL),   IV },
},
[sES] = {
	/* orig  */ { IV,        IV,        IV,        FIN(sFW),  OK(sES),   OK(sES),   OK(sES),   OK(sCL),   IV },
	/* reply */ { IV,        IV,        OK(sES),   FIN(sFW),  OK(sES),   OK(sES),   OK(sES),   OK(sCL),   IV },
},
[sFW] = {
	/* orig  */ { IV,        IV,        IV,        FIN(sLA),  OK(sFW),   OK(sFW),   OK(sFW),   OK(sCL),   IV },
	/* reply */ { IV,        IV,        IV,        FIN(sLA),  OK(sFW),   OK(sFW),   OK(sFW),   OK(sCL),   IV },
},
[sLA] = {
	/* orig  */ { IV,        IV,        IV,        FIN(sLA),  OK(sLA),   OK(sLA),   OK(sTW),   OK(sCL),   IV },
	/* reply */ { IV,        IV,        IV,        FIN(sLA),  OK(sLA),   OK(sLA),   OK(sTW),   OK(sCL),   IV },
},
[sTW] = {
	/* orig  */ { IV,        NEW(sSS),  IV,        OK(sTW),   OK(sTW),   OK(sTW),   OK(sTW),   OK(sCL),   IV },
	/* reply */ { IV,        IV,        IV,        OK(sTW),   OK(sTW),   OK(sTW),   OK(sTW),   OK(sCL),   IV },
},
[sCL] = {
	/* orig  */ { IV,        NEW(sSS),  IV,        OK(sCL),   OK(sCL),   OK(sCL),   OK(sCL),   OK(sCL),   IV },
	/* reply */ { IV,        IV,        IV,        OK(sCL),   OK(sCL),   OK(sCL),   OK(sCL),   OK(sCL),   IV },
},
};

_Static_assert(MG_TCP_STATE__MAX <= E_STATE + 1, "a state must fit in E_STATE");
_Static_assert(MG_TCP_DIR_ORIG == 0 && MG_TCP_DIR_REPLY == 1, "tcp_fsm is [state][dir]");

struct mg_tcp_step
mg_tcp_next(uint8_t state, uint8_t fin_dir, enum mg_tcp_dir dir, uint8_t flags)
{
	struct mg_tcp_step r = { .state = state, .fin_dir = fin_dir, .valid = false };
	unsigned int me, closer, cls;
	uint8_t e;

	if (mg_unlikely(state >= MG_TCP_STATE__MAX || (unsigned int)dir > MG_TCP_DIR_REPLY))
		return r;
	me = dir == MG_TCP_DIR_ORIG ? MG_TCP_FIN_ORIG : MG_TCP_FIN_REPLY;
	closer = (fin_dir & FIN_REPLY_FIRST) ? MG_TCP_FIN_REPLY : MG_TCP_FIN_ORIG;

	cls = flag_class[FLAG_INDEX(flags)];
	if (cls == C_FIN && (fin_dir & me))
		cls = C_FIN_AGAIN;
	else if (cls == C_ACK && me == closer && (fin_dir & closer))
		cls = C_ACK_CLOSER;

	e = tcp_fsm[state][dir][cls];
	if (!(e & E_VALID))
		return r;
	r.valid = true;
	r.state = e & E_STATE;
	if (e & E_NEW)
		r.fin_dir = 0;
	if (e & E_FIN) {
		if (!(fin_dir & (MG_TCP_FIN_ORIG | MG_TCP_FIN_REPLY)) &&
		    dir == MG_TCP_DIR_REPLY)
			r.fin_dir |= FIN_REPLY_FIRST;
		r.fin_dir |= me;
	}
	return r;
}

static const char *const state_names[] = {
	[MG_TCP_NONE] = "NONE",
	[MG_TCP_SYN_SENT] = "SYN_SENT",
	[MG_TCP_SYN_RECV] = "SYN_RECV",
	[MG_TCP_ESTABLISHED] = "ESTABLISHED",
	[MG_TCP_FIN_WAIT] = "FIN_WAIT",
	[MG_TCP_LAST_ACK] = "LAST_ACK",
	[MG_TCP_TIME_WAIT] = "TIME_WAIT",
	[MG_TCP_CLOSE] = "CLOSE",
};

_Static_assert(sizeof(state_names) / sizeof(state_names[0]) == MG_TCP_STATE__MAX,
	       "state_names[] must name every enum mg_tcp_state");

const char *
mg_tcp_state_name(uint8_t state)
{
	if (state < MG_TCP_STATE__MAX && state_names[state] != NULL)
		return state_names[state];
	return "UNKNOWN";
}

void
mg_tcp_timeouts_default(struct mg_tcp_timeouts *t)
{
	static const struct mg_tcp_timeouts def = {
		.ms = {
			[MG_TCP_NONE] = 0,
			[MG_TCP_SYN_SENT] = 500,          /* connect timeout; the caller overrides it */
			[MG_TCP_SYN_RECV] = 30 * 1000,
			[MG_TCP_ESTABLISHED] = 3600 * 1000,
			[MG_TCP_FIN_WAIT] = 120 * 1000,
			[MG_TCP_LAST_ACK] = 30 * 1000,
			[MG_TCP_TIME_WAIT] = 10 * 1000,
			[MG_TCP_CLOSE] = 2 * 1000,
		},
	};

	*t = def;
}
