/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of lib/tcp: the connection state machine, names and timeouts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mg_tcp.h"

#define O MG_TCP_DIR_ORIG
#define R MG_TCP_DIR_REPLY

#define SYN MG_TCP_SYN
#define ACK MG_TCP_ACK
#define FIN MG_TCP_FIN
#define RST MG_TCP_RST
#define PSH MG_TCP_PSH
#define URG MG_TCP_URG
#define ECE 0x40
#define CWR 0x80
#define SYNACK (SYN | ACK)
#define FINACK (FIN | ACK)
#define RSTACK (RST | ACK)

/* Bits of fin_dir documented in mg_tcp.h. */
#define FIN_O 0x01
#define FIN_R 0x02

static const uint8_t all_states[] = {
	MG_TCP_NONE, MG_TCP_SYN_SENT, MG_TCP_SYN_RECV, MG_TCP_ESTABLISHED,
	MG_TCP_FIN_WAIT, MG_TCP_LAST_ACK, MG_TCP_TIME_WAIT, MG_TCP_CLOSE,
};
#define N_STATES (sizeof(all_states) / sizeof(all_states[0]))

/* A connection as the caller keeps it. */
struct conn {
	uint8_t state;
	uint8_t fin_dir;
};

/* Feed one segment; on a valid one, keep the result like the caller does. */
static bool
feed(struct conn *c, enum mg_tcp_dir dir, uint8_t flags)
{
	struct mg_tcp_step s = mg_tcp_next(c->state, c->fin_dir, dir, flags);

	if (!s.valid) {
		/* An invalid segment never changes anything. */
		assert_int_equal(s.state, c->state);
		assert_int_equal(s.fin_dir, c->fin_dir);
		return false;
	}
	c->state = s.state;
	c->fin_dir = s.fin_dir;
	return true;
}

/* Expect one segment to be valid and to lead to @p to. */
#define STEP(c, dir, flags, to) do { \
	assert_true(feed((c), (dir), (flags))); \
	assert_int_equal((c)->state, (to)); \
} while (0)

/* Expect one segment to be invalid (state unchanged). */
#define REJECT(c, dir, flags) do { \
	uint8_t before_ = (c)->state; \
	assert_false(feed((c), (dir), (flags))); \
	assert_int_equal((c)->state, before_); \
} while (0)

/* One transition from a given state, without FIN history unless given. */
static struct mg_tcp_step
next(uint8_t st, uint8_t fin_dir, enum mg_tcp_dir dir, uint8_t flags)
{
	return mg_tcp_next(st, fin_dir, dir, flags);
}

static void
expect_step(uint8_t st, uint8_t fin_dir, enum mg_tcp_dir dir, uint8_t flags,
	    bool valid, uint8_t to)
{
	struct mg_tcp_step s = next(st, fin_dir, dir, flags);

	if (s.valid != valid || s.state != to)
		fail_msg("%s fin_dir=%#x dir=%s flags=%#x: got valid=%d %s, want valid=%d %s",
			 mg_tcp_state_name(st), fin_dir, dir == O ? "orig" : "reply", flags,
			 s.valid, mg_tcp_state_name(s.state), valid, mg_tcp_state_name(to));
	if (!valid)
		assert_int_equal(s.fin_dir, fin_dir);
}

/* Bring a connection to ESTABLISHED through the real handshake. */
static struct conn
established(void)
{
	struct conn c = { MG_TCP_NONE, 0 };

	STEP(&c, O, SYN, MG_TCP_SYN_SENT);
	STEP(&c, R, SYNACK, MG_TCP_SYN_RECV);
	STEP(&c, O, ACK, MG_TCP_ESTABLISHED);
	assert_int_equal(c.fin_dir, 0);
	return c;
}

/* ---- the diagram --------------------------------------------------------- */

static void
test_handshake(void **state)
{
	(void)state;
	struct conn c = { MG_TCP_NONE, 0 };

	STEP(&c, O, SYN, MG_TCP_SYN_SENT);
	assert_int_equal(c.fin_dir, 0);
	STEP(&c, R, SYNACK, MG_TCP_SYN_RECV);
	STEP(&c, O, ACK, MG_TCP_ESTABLISHED);
	/* Data both ways keeps the state. */
	STEP(&c, O, ACK | PSH, MG_TCP_ESTABLISHED);
	STEP(&c, R, ACK | PSH, MG_TCP_ESTABLISHED);
	STEP(&c, R, ACK, MG_TCP_ESTABLISHED);
	STEP(&c, O, ACK | URG, MG_TCP_ESTABLISHED);
	assert_int_equal(c.fin_dir, 0);
}

static void
test_close_client_first(void **state)
{
	(void)state;
	struct conn c = established();

	STEP(&c, O, FINACK, MG_TCP_FIN_WAIT);
	assert_int_equal(c.fin_dir & (FIN_O | FIN_R), FIN_O);
	STEP(&c, R, ACK, MG_TCP_FIN_WAIT);           /* ACK of the FIN */
	STEP(&c, R, ACK | PSH, MG_TCP_FIN_WAIT);     /* half-closed: reply still sends */
	STEP(&c, O, ACK, MG_TCP_FIN_WAIT);           /* client ACKs that data */
	STEP(&c, R, FINACK, MG_TCP_LAST_ACK);
	assert_int_equal(c.fin_dir & (FIN_O | FIN_R), FIN_O | FIN_R);
	STEP(&c, R, ACK, MG_TCP_LAST_ACK);           /* not the last ACK */
	STEP(&c, O, ACK, MG_TCP_TIME_WAIT);          /* client ACKs the server's FIN */
	STEP(&c, R, ACK, MG_TCP_TIME_WAIT);
	STEP(&c, O, ACK, MG_TCP_TIME_WAIT);
}

static void
test_close_server_first(void **state)
{
	(void)state;
	struct conn c = established();

	STEP(&c, R, FINACK, MG_TCP_FIN_WAIT);
	assert_int_equal(c.fin_dir & (FIN_O | FIN_R), FIN_R);
	STEP(&c, O, ACK, MG_TCP_FIN_WAIT);
	STEP(&c, O, ACK | PSH, MG_TCP_FIN_WAIT);
	STEP(&c, O, FINACK, MG_TCP_LAST_ACK);
	assert_int_equal(c.fin_dir & (FIN_O | FIN_R), FIN_O | FIN_R);
	STEP(&c, O, ACK, MG_TCP_LAST_ACK);           /* the client closed second */
	STEP(&c, R, ACK, MG_TCP_TIME_WAIT);          /* server ACKs the client's FIN */
}

static void
test_close_fin_with_data_and_bare_fin(void **state)
{
	(void)state;
	struct conn c = established();

	/* FIN carrying data and PSH, then a bare FIN without ACK: both FINs. */
	STEP(&c, O, FIN | ACK | PSH, MG_TCP_FIN_WAIT);
	STEP(&c, R, FIN, MG_TCP_LAST_ACK);
	STEP(&c, O, ACK, MG_TCP_TIME_WAIT);
}

static void
test_simultaneous_close(void **state)
{
	(void)state;
	struct conn c;

	/* FINs cross; the second closer's ACK arrives first. */
	c = established();
	STEP(&c, O, FINACK, MG_TCP_FIN_WAIT);
	STEP(&c, R, FINACK, MG_TCP_LAST_ACK);
	STEP(&c, R, ACK, MG_TCP_LAST_ACK);
	STEP(&c, O, ACK, MG_TCP_TIME_WAIT);

	/* Same, the first closer's ACK first. */
	c = established();
	STEP(&c, O, FINACK, MG_TCP_FIN_WAIT);
	STEP(&c, R, FINACK, MG_TCP_LAST_ACK);
	STEP(&c, O, ACK, MG_TCP_TIME_WAIT);
	STEP(&c, R, ACK, MG_TCP_TIME_WAIT);

	/* Reply's FIN seen first. */
	c = established();
	STEP(&c, R, FINACK, MG_TCP_FIN_WAIT);
	STEP(&c, O, FINACK, MG_TCP_LAST_ACK);
	STEP(&c, O, ACK, MG_TCP_LAST_ACK);
	STEP(&c, R, ACK, MG_TCP_TIME_WAIT);
}

static void
test_fin_retransmissions(void **state)
{
	(void)state;
	struct conn c = established();

	STEP(&c, O, FINACK, MG_TCP_FIN_WAIT);
	uint8_t fd = c.fin_dir;
	STEP(&c, O, FINACK, MG_TCP_FIN_WAIT);        /* same side again: unchanged */
	STEP(&c, O, FIN, MG_TCP_FIN_WAIT);
	assert_int_equal(c.fin_dir, fd);
	STEP(&c, R, FINACK, MG_TCP_LAST_ACK);
	fd = c.fin_dir;
	STEP(&c, R, FINACK, MG_TCP_LAST_ACK);        /* either FIN again in LAST_ACK */
	STEP(&c, O, FINACK, MG_TCP_LAST_ACK);
	assert_int_equal(c.fin_dir, fd);
	STEP(&c, O, ACK, MG_TCP_TIME_WAIT);
	STEP(&c, R, FINACK, MG_TCP_TIME_WAIT);       /* late FIN in TIME_WAIT */
	STEP(&c, O, FINACK, MG_TCP_TIME_WAIT);
	assert_int_equal(c.fin_dir, fd);

	/* Reply side: the same. */
	c = established();
	STEP(&c, R, FINACK, MG_TCP_FIN_WAIT);
	STEP(&c, R, FINACK, MG_TCP_FIN_WAIT);
	STEP(&c, R, FIN | ACK | PSH, MG_TCP_FIN_WAIT);
	STEP(&c, O, FINACK, MG_TCP_LAST_ACK);
}

static void
test_handshake_retransmissions(void **state)
{
	(void)state;
	struct conn c = { MG_TCP_NONE, 0 };

	STEP(&c, O, SYN, MG_TCP_SYN_SENT);
	STEP(&c, O, SYN, MG_TCP_SYN_SENT);           /* client retransmits its SYN */
	STEP(&c, O, SYN | ECE | CWR, MG_TCP_SYN_SENT);
	STEP(&c, R, SYNACK, MG_TCP_SYN_RECV);
	STEP(&c, R, SYNACK, MG_TCP_SYN_RECV);        /* endpoint retransmits SYN+ACK */
	STEP(&c, O, SYN, MG_TCP_SYN_RECV);           /* client lost the SYN+ACK */
	STEP(&c, O, ACK, MG_TCP_ESTABLISHED);
	STEP(&c, R, SYNACK, MG_TCP_ESTABLISHED);     /* client's ACK lost after us */
	REJECT(&c, O, SYN);                          /* SYN in ESTABLISHED: invalid */
}

static void
test_syn_recv_details(void **state)
{
	(void)state;

	/* Reply may ACK/send in SYN_RECV: state kept. */
	expect_step(MG_TCP_SYN_RECV, 0, R, ACK, true, MG_TCP_SYN_RECV);
	expect_step(MG_TCP_SYN_RECV, 0, R, ACK | PSH, true, MG_TCP_SYN_RECV);
	/* Client data with the handshake ACK establishes. */
	expect_step(MG_TCP_SYN_RECV, 0, O, ACK | PSH, true, MG_TCP_ESTABLISHED);
	/* A FIN from either side in SYN_RECV closes that side. */
	struct mg_tcp_step s = next(MG_TCP_SYN_RECV, 0, O, FINACK);
	assert_true(s.valid);
	assert_int_equal(s.state, MG_TCP_FIN_WAIT);
	assert_int_equal(s.fin_dir & (FIN_O | FIN_R), FIN_O);
	s = next(MG_TCP_SYN_RECV, 0, R, FINACK);
	assert_true(s.valid);
	assert_int_equal(s.state, MG_TCP_FIN_WAIT);
	assert_int_equal(s.fin_dir & (FIN_O | FIN_R), FIN_R);
	/* Invalid in SYN_RECV: SYN+ACK from orig, SYN from reply, no flags. */
	expect_step(MG_TCP_SYN_RECV, 0, O, SYNACK, false, MG_TCP_SYN_RECV);
	expect_step(MG_TCP_SYN_RECV, 0, R, SYN, false, MG_TCP_SYN_RECV);
	expect_step(MG_TCP_SYN_RECV, 0, O, 0, false, MG_TCP_SYN_RECV);
}

/* ---- RST ------------------------------------------------------------------ */

static void
test_rst_every_state(void **state)
{
	(void)state;
	static const uint8_t rsts[] = { RST, RSTACK, RST | ACK | PSH, RST | FIN, RST | FIN | ACK };

	for (size_t i = 1; i < N_STATES; i++)
		for (int d = 0; d < 2; d++)
			for (size_t k = 0; k < sizeof(rsts); k++)
				for (uint8_t fd = 0; fd < 8; fd++)
					expect_step(all_states[i], fd, (enum mg_tcp_dir)d, rsts[k],
						    true, MG_TCP_CLOSE);
	/* No connection: a stray RST must not create one. */
	expect_step(MG_TCP_NONE, 0, O, RST, false, MG_TCP_NONE);
	expect_step(MG_TCP_NONE, 0, R, RSTACK, false, MG_TCP_NONE);
}

static void
test_rst_then_stray_and_reuse(void **state)
{
	(void)state;
	struct conn c = established();

	STEP(&c, R, RSTACK, MG_TCP_CLOSE);
	/* Segments in flight keep CLOSE. */
	STEP(&c, O, ACK | PSH, MG_TCP_CLOSE);
	STEP(&c, O, FINACK, MG_TCP_CLOSE);
	STEP(&c, R, RST, MG_TCP_CLOSE);
	REJECT(&c, R, SYN);
	REJECT(&c, R, SYNACK);
	REJECT(&c, O, SYNACK);
	/* The client reuses the port: a new connection. */
	STEP(&c, O, SYN, MG_TCP_SYN_SENT);
	assert_int_equal(c.fin_dir, 0);

	/* RST during the handshake, from either side. */
	c = (struct conn){ MG_TCP_NONE, 0 };
	STEP(&c, O, SYN, MG_TCP_SYN_SENT);
	STEP(&c, R, RSTACK, MG_TCP_CLOSE);           /* endpoint refuses */
	c = (struct conn){ MG_TCP_NONE, 0 };
	STEP(&c, O, SYN, MG_TCP_SYN_SENT);
	STEP(&c, O, RST, MG_TCP_CLOSE);              /* client gives up */
}

/* ---- TIME_WAIT and port reuse ------------------------------------------- */

static void
test_time_wait_reuse(void **state)
{
	(void)state;
	struct conn c = established();

	STEP(&c, O, FINACK, MG_TCP_FIN_WAIT);
	STEP(&c, R, FINACK, MG_TCP_LAST_ACK);
	STEP(&c, O, ACK, MG_TCP_TIME_WAIT);
	assert_int_not_equal(c.fin_dir, 0);
	REJECT(&c, R, SYN);
	REJECT(&c, R, SYNACK);
	REJECT(&c, O, SYNACK);
	REJECT(&c, O, 0);
	STEP(&c, O, SYN, MG_TCP_SYN_SENT);           /* port reuse */
	assert_int_equal(c.fin_dir, 0);
	/* ... and the new connection runs its whole course. */
	STEP(&c, R, SYNACK, MG_TCP_SYN_RECV);
	STEP(&c, O, ACK, MG_TCP_ESTABLISHED);
	STEP(&c, R, FINACK, MG_TCP_FIN_WAIT);
	assert_int_equal(c.fin_dir & (FIN_O | FIN_R), FIN_R);
	STEP(&c, O, FINACK, MG_TCP_LAST_ACK);
	STEP(&c, O, ACK, MG_TCP_LAST_ACK);
	STEP(&c, R, ACK, MG_TCP_TIME_WAIT);
}

/* ---- invalid segments ----------------------------------------------------- */

static void
test_none_state(void **state)
{
	(void)state;

	struct mg_tcp_step s = next(MG_TCP_NONE, 0, O, SYN);
	assert_true(s.valid);
	assert_int_equal(s.state, MG_TCP_SYN_SENT);
	assert_int_equal(s.fin_dir, 0);
	expect_step(MG_TCP_NONE, 0, O, SYN | ECE | CWR, true, MG_TCP_SYN_SENT);
	for (unsigned f = 0; f < 256; f++) {
		if ((f & (SYN | ACK | FIN | RST)) == SYN)
			continue;
		expect_step(MG_TCP_NONE, 0, O, (uint8_t)f, false, MG_TCP_NONE);
	}
	for (unsigned f = 0; f < 256; f++)
		expect_step(MG_TCP_NONE, 0, R, (uint8_t)f, false, MG_TCP_NONE);
}

static void
test_syn_sent_strict(void **state)
{
	(void)state;

	/* From orig, only SYN (retransmission) and RST are valid. */
	for (unsigned f = 0; f < 256; f++) {
		uint8_t ctl = f & (SYN | ACK | FIN | RST);
		bool ok = ctl == SYN || (f & (RST | SYN)) == RST;
		uint8_t to = ctl == SYN ? MG_TCP_SYN_SENT :
			     ok ? MG_TCP_CLOSE : MG_TCP_SYN_SENT;
		expect_step(MG_TCP_SYN_SENT, 0, O, (uint8_t)f, ok, to);
	}
	/* From reply, only SYN+ACK and RST. */
	for (unsigned f = 0; f < 256; f++) {
		uint8_t ctl = f & (SYN | ACK | FIN | RST);
		bool ok = ctl == SYNACK || (f & (RST | SYN)) == RST;
		uint8_t to = ctl == SYNACK ? MG_TCP_SYN_RECV :
			     ok ? MG_TCP_CLOSE : MG_TCP_SYN_SENT;
		expect_step(MG_TCP_SYN_SENT, 0, R, (uint8_t)f, ok, to);
	}
}

static void
test_syn_after_handshake_invalid(void **state)
{
	(void)state;
	static const uint8_t late[] = { MG_TCP_ESTABLISHED, MG_TCP_FIN_WAIT, MG_TCP_LAST_ACK };

	for (size_t i = 0; i < sizeof(late); i++)
		for (int d = 0; d < 2; d++)
			for (uint8_t fd = 0; fd < 8; fd++) {
				expect_step(late[i], fd, (enum mg_tcp_dir)d, SYN, false, late[i]);
				/* The endpoint's SYN+ACK retransmission passes in
				 * ESTABLISHED only (the client's ACK was lost). */
				expect_step(late[i], fd, (enum mg_tcp_dir)d, SYNACK,
					    late[i] == MG_TCP_ESTABLISHED && d == R, late[i]);
				expect_step(late[i], fd, (enum mg_tcp_dir)d, SYN | ECE, false, late[i]);
			}
	/* TIME_WAIT / CLOSE: only orig's SYN (reuse) is valid. */
	expect_step(MG_TCP_TIME_WAIT, FIN_O | FIN_R, R, SYN, false, MG_TCP_TIME_WAIT);
	expect_step(MG_TCP_TIME_WAIT, FIN_O | FIN_R, R, SYNACK, false, MG_TCP_TIME_WAIT);
	expect_step(MG_TCP_TIME_WAIT, FIN_O | FIN_R, O, SYNACK, false, MG_TCP_TIME_WAIT);
	expect_step(MG_TCP_CLOSE, 0, R, SYN, false, MG_TCP_CLOSE);
	expect_step(MG_TCP_CLOSE, 0, O, SYNACK, false, MG_TCP_CLOSE);
}

static void
test_no_simultaneous_open(void **state)
{
	(void)state;

	/* A SYN from reply or a SYN+ACK from orig is never valid. */
	for (size_t i = 0; i < N_STATES; i++)
		for (uint8_t fd = 0; fd < 8; fd++) {
			expect_step(all_states[i], fd, R, SYN, false, all_states[i]);
			expect_step(all_states[i], fd, O, SYNACK, false, all_states[i]);
		}
}

static void
test_impossible_flags_invalid(void **state)
{
	(void)state;
	/* No control flag at all (null scan, PSH/URG/ECE/CWR only), or SYN with FIN or RST. */
	static const uint8_t bad[] = {
		0, PSH, URG, ECE, CWR, PSH | URG, PSH | URG | ECE | CWR,
		SYN | FIN, SYN | FIN | ACK, SYN | RST, SYN | RST | ACK, SYN | RST | FIN,
		SYN | FIN | PSH | URG, SYN | FIN | RST | ACK | PSH | URG | ECE | CWR,
	};

	for (size_t i = 0; i < N_STATES; i++)
		for (int d = 0; d < 2; d++)
			for (uint8_t fd = 0; fd < 8; fd++)
				for (size_t k = 0; k < sizeof(bad); k++)
					expect_step(all_states[i], fd, (enum mg_tcp_dir)d, bad[k],
						    false, all_states[i]);
}

static void
test_data_keeps_state(void **state)
{
	(void)state;
	static const uint8_t keep[] = {
		MG_TCP_ESTABLISHED, MG_TCP_FIN_WAIT, MG_TCP_TIME_WAIT, MG_TCP_CLOSE,
	};
	static const uint8_t data[] = { ACK, ACK | PSH, ACK | URG, ACK | ECE, ACK | CWR | PSH };

	for (size_t i = 0; i < sizeof(keep); i++)
		for (int d = 0; d < 2; d++)
			for (size_t k = 0; k < sizeof(data); k++) {
				uint8_t fd = keep[i] == MG_TCP_ESTABLISHED ? 0 :
					     keep[i] == MG_TCP_FIN_WAIT ? FIN_O : FIN_O | FIN_R;
				struct mg_tcp_step s = next(keep[i], fd, (enum mg_tcp_dir)d, data[k]);
				assert_true(s.valid);
				assert_int_equal(s.state, keep[i]);
				assert_int_equal(s.fin_dir, fd);
			}
}

/* ---- properties over every input ---------------------------------------- */

static void
test_exhaustive_properties(void **state)
{
	(void)state;

	for (unsigned st = 0; st < MG_TCP_STATE__MAX; st++)
	for (unsigned fd = 0; fd < 8; fd++)
	for (int d = 0; d < 2; d++)
	for (unsigned f = 0; f < 256; f++) {
		struct mg_tcp_step s = mg_tcp_next((uint8_t)st, (uint8_t)fd,
						   (enum mg_tcp_dir)d, (uint8_t)f);
		uint8_t ctl = f & (SYN | ACK | FIN | RST);
		uint8_t me = d == O ? FIN_O : FIN_R;

		assert_true(s.state < MG_TCP_STATE__MAX);
		if (!s.valid) {
			assert_int_equal(s.state, st);
			assert_int_equal(s.fin_dir, fd);
			continue;
		}
		/* Only the control bits matter. */
		struct mg_tcp_step s2 = mg_tcp_next((uint8_t)st, (uint8_t)fd,
						    (enum mg_tcp_dir)d, ctl);
		assert_int_equal(s2.valid, s.valid);
		assert_int_equal(s2.state, s.state);
		assert_int_equal(s2.fin_dir, s.fin_dir);
		/* Impossible combinations never pass. */
		assert_false((f & (SYN | FIN)) == (SYN | FIN));
		assert_false((f & (SYN | RST)) == (SYN | RST));
		assert_true(ctl != 0);
		if (f & RST) {
			assert_int_equal(s.state, MG_TCP_CLOSE);
			assert_int_not_equal(st, MG_TCP_NONE);
		}
		if (f & SYN) {
			/* SYN only opens or re-opens, SYN+ACK only answers. */
			if (f & ACK) {
				assert_int_equal(d, R);
				if (st == MG_TCP_ESTABLISHED) {
					assert_int_equal(s.state, MG_TCP_ESTABLISHED);
				} else {
					assert_true(st == MG_TCP_SYN_SENT || st == MG_TCP_SYN_RECV);
					assert_int_equal(s.state, MG_TCP_SYN_RECV);
				}
			} else {
				assert_int_equal(d, O);
				assert_true(s.state == MG_TCP_SYN_SENT || st == MG_TCP_SYN_RECV);
				assert_false(st >= MG_TCP_ESTABLISHED && st <= MG_TCP_LAST_ACK);
				if (st != MG_TCP_SYN_RECV && st != MG_TCP_SYN_SENT)
					assert_int_equal(s.fin_dir, 0);
			}
		}
		/* fin_dir only grows by this side's FIN (or is cleared on reuse). */
		if (s.fin_dir != fd && s.fin_dir != 0) {
			assert_true(f & FIN);
			assert_int_equal(s.fin_dir & ~fd & (FIN_O | FIN_R), me);
			assert_int_equal(fd & me, 0);
		}
		/* Plain data or ACK never changes the state, but at the two documented places. */
		if (ctl == ACK && s.state != st)
			assert_true((st == MG_TCP_SYN_RECV && d == O && s.state == MG_TCP_ESTABLISHED) ||
				    (st == MG_TCP_LAST_ACK && s.state == MG_TCP_TIME_WAIT));
		/* A FIN never goes backward. */
		if ((f & FIN) && !(f & RST))
			assert_true(s.state >= st || st == MG_TCP_SYN_SENT);
	}
	/* Out-of-range inputs are rejected without harm. */
	struct mg_tcp_step s = mg_tcp_next(MG_TCP_STATE__MAX, 0, O, SYN);
	assert_false(s.valid);
	assert_int_equal(s.state, MG_TCP_STATE__MAX);
	s = mg_tcp_next(200, 3, R, RST);
	assert_false(s.valid);
	assert_int_equal(s.state, 200);
	assert_int_equal(s.fin_dir, 3);
	s = mg_tcp_next(MG_TCP_ESTABLISHED, 0, (enum mg_tcp_dir)2, ACK);
	assert_false(s.valid);
}

/* Walk random valid segment sequences; the state must stay coherent. */
static void
test_random_walk(void **state)
{
	(void)state;
	static const uint8_t flags[] = { SYN, SYNACK, ACK, ACK | PSH, FINACK, FIN, RST, RSTACK, 0 };
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (int run = 0; run < 2000; run++) {
		struct conn c = { MG_TCP_NONE, 0 };
		bool seen_fin[2] = { false, false };

		for (int i = 0; i < 64; i++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			enum mg_tcp_dir d = (enum mg_tcp_dir)(x & 1);
			uint8_t f = flags[(x >> 8) % sizeof(flags)];
			uint8_t prev = c.state;

			if (!feed(&c, d, f))
				continue;
			if (c.state == MG_TCP_SYN_SENT && prev != MG_TCP_SYN_SENT)
				seen_fin[0] = seen_fin[1] = false;
			if ((f & FIN) && !(f & RST) && prev >= MG_TCP_SYN_RECV &&
			    prev <= MG_TCP_LAST_ACK)
				seen_fin[d] = true;
			/* The FIN bits mirror the FINs seen since the last open. */
			if (c.state >= MG_TCP_SYN_SENT && c.state <= MG_TCP_LAST_ACK) {
				assert_int_equal(!!(c.fin_dir & FIN_O), seen_fin[O]);
				assert_int_equal(!!(c.fin_dir & FIN_R), seen_fin[R]);
			}
			switch (c.state) {
			case MG_TCP_SYN_SENT:
			case MG_TCP_SYN_RECV:
			case MG_TCP_ESTABLISHED:
				assert_int_equal(c.fin_dir & (FIN_O | FIN_R), 0);
				break;
			case MG_TCP_FIN_WAIT: {
				uint8_t b = c.fin_dir & (FIN_O | FIN_R);
				assert_true(b == FIN_O || b == FIN_R);
				break;
			}
			case MG_TCP_LAST_ACK:
				assert_int_equal(c.fin_dir & (FIN_O | FIN_R), FIN_O | FIN_R);
				break;
			default:
				break;
			}
		}
	}
}

/* ---- names, timeouts, helpers ------------------------------------------- */

static void
test_state_names(void **state)
{
	(void)state;

	assert_string_equal(mg_tcp_state_name(MG_TCP_NONE), "NONE");
	assert_string_equal(mg_tcp_state_name(MG_TCP_SYN_SENT), "SYN_SENT");
	assert_string_equal(mg_tcp_state_name(MG_TCP_SYN_RECV), "SYN_RECV");
	assert_string_equal(mg_tcp_state_name(MG_TCP_ESTABLISHED), "ESTABLISHED");
	assert_string_equal(mg_tcp_state_name(MG_TCP_FIN_WAIT), "FIN_WAIT");
	assert_string_equal(mg_tcp_state_name(MG_TCP_LAST_ACK), "LAST_ACK");
	assert_string_equal(mg_tcp_state_name(MG_TCP_TIME_WAIT), "TIME_WAIT");
	assert_string_equal(mg_tcp_state_name(MG_TCP_CLOSE), "CLOSE");
	for (unsigned s = MG_TCP_STATE__MAX; s < 256; s++)
		assert_non_null(mg_tcp_state_name((uint8_t)s));
	/* Distinct names. */
	for (unsigned a = 0; a < MG_TCP_STATE__MAX; a++)
		for (unsigned b = a + 1; b < MG_TCP_STATE__MAX; b++)
			assert_string_not_equal(mg_tcp_state_name((uint8_t)a),
						mg_tcp_state_name((uint8_t)b));
}

static void
test_timeouts_default(void **state)
{
	(void)state;
	struct mg_tcp_timeouts t;

	memset(&t, 0xa5, sizeof(t));
	mg_tcp_timeouts_default(&t);
	assert_int_equal(t.ms[MG_TCP_NONE], 0);
	assert_int_equal(t.ms[MG_TCP_SYN_SENT], 500);
	assert_int_equal(t.ms[MG_TCP_SYN_RECV], 30000);
	assert_int_equal(t.ms[MG_TCP_ESTABLISHED], 3600000);
	assert_int_equal(t.ms[MG_TCP_FIN_WAIT], 120000);
	assert_int_equal(t.ms[MG_TCP_LAST_ACK], 30000);
	assert_int_equal(t.ms[MG_TCP_TIME_WAIT], 10000);
	assert_int_equal(t.ms[MG_TCP_CLOSE], 2000);
}

static void
test_carries_data(void **state)
{
	(void)state;

	assert_false(mg_tcp_state_carries_data(MG_TCP_NONE));
	assert_false(mg_tcp_state_carries_data(MG_TCP_SYN_SENT));
	assert_true(mg_tcp_state_carries_data(MG_TCP_SYN_RECV));
	assert_true(mg_tcp_state_carries_data(MG_TCP_ESTABLISHED));
	assert_true(mg_tcp_state_carries_data(MG_TCP_FIN_WAIT));
	assert_true(mg_tcp_state_carries_data(MG_TCP_LAST_ACK));
	assert_false(mg_tcp_state_carries_data(MG_TCP_TIME_WAIT));
	assert_false(mg_tcp_state_carries_data(MG_TCP_CLOSE));
}

static void
test_seq_compare(void **state)
{
	(void)state;

	assert_true(mg_tcp_seq_lt(1, 2));
	assert_false(mg_tcp_seq_lt(2, 2));
	assert_true(mg_tcp_seq_leq(2, 2));
	assert_true(mg_tcp_seq_gt(3, 2));
	assert_true(mg_tcp_seq_geq(2, 2));
	/* Across the wrap. */
	assert_true(mg_tcp_seq_lt(0xfffffff0u, 0x10));
	assert_true(mg_tcp_seq_gt(0x10, 0xfffffff0u));
	assert_true(mg_tcp_seq_leq(0xffffffffu, 0));
	assert_true(mg_tcp_seq_geq(0, 0xffffffffu));
	assert_false(mg_tcp_seq_lt(0x10, 0xfffffff0u));
}

/* The inline fast path agrees with the table for every input it could see. */
static void
test_next_fast_equals_table(void **state)
{
	for (unsigned int st = 0; st < MG_TCP_STATE__MAX; st++)
		for (unsigned int fd = 0; fd < 8; fd++)
			for (unsigned int dir = 0; dir < 2; dir++)
				for (unsigned int fl = 0; fl < 256; fl++) {
					struct mg_tcp_step a = mg_tcp_next((uint8_t)st, (uint8_t)fd,
									   (enum mg_tcp_dir)dir, (uint8_t)fl);
					struct mg_tcp_step b = mg_tcp_next_fast((uint8_t)st, (uint8_t)fd,
										(enum mg_tcp_dir)dir, (uint8_t)fl);

					assert_int_equal(a.valid, b.valid);
					assert_int_equal(a.state, b.state);
					assert_int_equal(a.fin_dir, b.fin_dir);
				}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_next_fast_equals_table),
		cmocka_unit_test(test_close_client_first),
		cmocka_unit_test(test_close_server_first),
		cmocka_unit_test(test_close_fin_with_data_and_bare_fin),
		cmocka_unit_test(test_simultaneous_close),
		cmocka_unit_test(test_fin_retransmissions),
		cmocka_unit_test(test_handshake_retransmissions),
		cmocka_unit_test(test_syn_recv_details),
		cmocka_unit_test(test_rst_every_state),
		cmocka_unit_test(test_rst_then_stray_and_reuse),
		cmocka_unit_test(test_time_wait_reuse),
		cmocka_unit_test(test_none_state),
		cmocka_unit_test(test_syn_sent_strict),
		cmocka_unit_test(test_syn_after_handshake_invalid),
		cmocka_unit_test(test_no_simultaneous_open),
		cmocka_unit_test(test_impossible_flags_invalid),
		cmocka_unit_test(test_data_keeps_state),
		cmocka_unit_test(test_exhaustive_properties),
		cmocka_unit_test(test_random_walk),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_timeouts_default),
		cmocka_unit_test(test_carries_data),
		cmocka_unit_test(test_seq_compare),
	};

	return cmocka_run_group_tests_name("tcp", tests, NULL, NULL);
}
