/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the libnetvsc sim tests: a simulator plus an attached NIC,
 * test frames that carry a sequence number and a checkable pattern inside
 * IPv4/UDP (so RSS can spread them), and a receiver that checks every
 * byte of what comes back.
 */
#ifndef TESTS_SIM_NETVSC_UTIL_H
#define TESTS_SIM_NETVSC_UTIL_H

#include <netvsc/netvsc.h>

#include "harness.h"

#define NT_WAIT_MS 10000
#define NT_MAX_SEQ (1u << 20)
#define NT_MAGIC 0x5456534eu /* "NSVT" */

struct nt {
	struct sim sim;
	struct netvsc_dev *nd;
	struct netvsc_ops ops;
	struct netvsc_info info;
	char err[512];
	/* receive side */
	uint8_t *seen; /* per sequence number: how often it came back */
	uint64_t rx_frames, rx_bad, rx_dup, rx_bytes, rx_other;
	uint64_t rx_per_queue[NETVSC_MAX_QUEUES];
	uint64_t rx_vlan;
	uint16_t last_vlan;
	/* events */
	int link_events, link_up_events, link_down_events, keepalives, gone, broken;
	bool link_up;
	/* transmit with pages */
	uint64_t pages_done, pages_failed;
};

/* 14 Ethernet + 20 IPv4 + 8 UDP + 4 magic + 4 seq + 4 len, then the pattern. */
#define NT_HDR 58u

static inline uint16_t nt_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/*
 * A test frame of @len (>= NT_HDR) bytes from @src to @dst: IPv4/UDP on
 * ports derived from @flow (RSS hashes them), the magic, @seq, @len, then
 * a pattern from @seq.
 */
static inline void nt_frame(uint8_t *f, uint32_t len, const uint8_t *src, const uint8_t *dst,
			    uint32_t seq, uint32_t flow)
{
	uint32_t magic = NT_MAGIC, i;
	uint16_t iplen = (uint16_t)(len - 14), udplen = (uint16_t)(len - 34);
	uint16_t sport = (uint16_t)(10000 + flow * 7919 % 50000), dport = (uint16_t)(5000 + flow);
	uint16_t c;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(f + 14, 0, 20);
	f[14] = 0x45;
	f[16] = (uint8_t)(iplen >> 8);
	f[17] = (uint8_t)iplen;
	f[22] = 64;
	f[23] = 17;
	f[26] = 10;
	f[27] = 1;
	f[28] = (uint8_t)(flow >> 8);
	f[29] = (uint8_t)flow;
	f[30] = 10;
	f[31] = 2;
	f[32] = 0;
	f[33] = 1;
	c = nt_csum(f + 14, 20);
	f[24] = (uint8_t)(c >> 8);
	f[25] = (uint8_t)c;
	f[34] = (uint8_t)(sport >> 8);
	f[35] = (uint8_t)sport;
	f[36] = (uint8_t)(dport >> 8);
	f[37] = (uint8_t)dport;
	f[38] = (uint8_t)(udplen >> 8);
	f[39] = (uint8_t)udplen;
	f[40] = f[41] = 0; /* no UDP checksum */
	memcpy(f + 42, &magic, 4);
	memcpy(f + 46, &seq, 4);
	memcpy(f + 50, &len, 4);
	memset(f + 54, 0, 4);
	for (i = NT_HDR; i < len; i++)
		f[i] = (uint8_t)(seq * 31 + i);
}

/* Checks a frame made by nt_frame (addresses swapped by the echo). */
static inline bool nt_check(const uint8_t *f, uint32_t len, uint32_t *seq)
{
	uint32_t magic, l, i;

	if (len < NT_HDR)
		return false;
	memcpy(&magic, f + 42, 4);
	memcpy(seq, f + 46, 4);
	memcpy(&l, f + 50, 4);
	if (magic != NT_MAGIC || l != len)
		return false;
	for (i = NT_HDR; i < len; i++)
		if (f[i] != (uint8_t)(*seq * 31 + i))
			return false;
	return true;
}

static inline void nt_rx(void *arg, const struct netvsc_rx_frame *fr)
{
	struct nt *t = arg;
	uint32_t seq;

	if (fr->queue < NETVSC_MAX_QUEUES)
		t->rx_per_queue[fr->queue]++;
	if (fr->flags & NETVSC_RX_VLAN) {
		t->rx_vlan++;
		t->last_vlan = fr->vlan_tci;
	}
	t->rx_bytes += fr->len;
	if (!nt_check(fr->data, fr->len, &seq)) {
		uint32_t magic = 0;

		if (fr->len >= 46)
			memcpy(&magic, (const uint8_t *)fr->data + 42, 4);
		if (magic == NT_MAGIC)
			t->rx_bad++;
		else
			t->rx_other++;
		return;
	}
	if (seq >= NT_MAX_SEQ) {
		t->rx_bad++;
		return;
	}
	if (t->seen[seq]++)
		t->rx_dup++;
	t->rx_frames++;
}

static inline void nt_event(void *arg, const struct netvsc_event *ev)
{
	struct nt *t = arg;

	switch (ev->type) {
	case NETVSC_EV_LINK:
		t->link_events++;
		t->link_up = ev->link_up;
		if (ev->link_up)
			t->link_up_events++;
		else
			t->link_down_events++;
		break;
	case NETVSC_EV_KEEPALIVE:
		t->keepalives++;
		break;
	case NETVSC_EV_GONE:
		t->gone++;
		break;
	case NETVSC_EV_BROKEN:
		t->broken++;
		break;
	default:
		break;
	}
}

static inline void nt_tx_done(void *arg, unsigned int queue, uint64_t cookie, int status)
{
	struct nt *t = arg;

	(void)queue;
	(void)cookie;
	if (status == 0)
		t->pages_done++;
	else
		t->pages_failed++;
}

/* Starts a simulator (link changes not held back) with up to 6 options. */
static inline struct nt *nt_new_opts(const char *const *opts)
{
	struct nt *t = calloc(1, sizeof(*t));
	const char *o[8] = { NULL };
	int i;

	assert_non_null(t);
	t->seen = calloc(NT_MAX_SEQ, 1);
	assert_non_null(t->seen);
	for (i = 0; opts && opts[i] && i < 8; i++)
		o[i] = opts[i];
	assert_int_equal(sim_start(&t->sim, "--link-flap-ms", "0", o[0], o[1], o[2], o[3], o[4],
				   o[5], NULL),
			 0);
	t->ops.sz = sizeof(t->ops);
	t->ops.rx = nt_rx;
	t->ops.event = nt_event;
	t->ops.tx_done = nt_tx_done;
	t->ops.arg = t;
	return t;
}

static inline struct nt *nt_new(const char *opt1)
{
	const char *o[2] = { opt1, NULL };

	return nt_new_opts(o);
}

static inline int nt_attach_opts(struct nt *t, unsigned int queues, unsigned int mtu,
				 uint32_t nvsp_max, int timeout_ms)
{
	struct netvsc_opts o = { .sz = sizeof(o) };
	int ret;

	o.root = t->sim.root;
	o.queues = queues;
	o.mtu = mtu;
	o.nvsp_max = nvsp_max;
	o.timeout_ms = timeout_ms ? timeout_ms : NT_WAIT_MS;
	o.drain_ms = 2000;
	o.ops = &t->ops;
	o.errbuf = t->err;
	o.errbuf_len = sizeof(t->err);
	t->err[0] = '\0';
	ret = netvsc_attach(t->sim.guid[0], &o, &t->nd);
	if (ret == 0) {
		t->info.sz = sizeof(t->info);
		netvsc_info(t->nd, &t->info);
	}
	return ret;
}

static inline void nt_attach(struct nt *t, unsigned int queues, unsigned int mtu)
{
	int ret = nt_attach_opts(t, queues, mtu, 0, 0);

	if (ret)
		fail_msg("attach: %s (%d)", t->err, ret);
}

static inline void nt_detach(struct nt *t)
{
	netvsc_detach(t->nd);
	t->nd = NULL;
}

static inline int nt_free(struct nt *t)
{
	int rc;

	if (t->nd)
		nt_detach(t);
	rc = sim_stop(&t->sim);
	free(t->seen);
	free(t);
	/* the simulator ran under the sanitizers: a report is a failure */
	return rc == 0 ? 0 : -1;
}

/* The NIC a test has running, for nt_teardown to free if the test fails. */
static struct nt *live;

/* cmocka teardown: frees the NIC left in @live, if any. */
static inline int nt_teardown(void **state)
{
	int rc = 0;

	(void)state;
	if (live) {
		rc = nt_free(live);
		live = NULL;
	}
	return rc;
}

/* Polls every queue once; returns frames delivered, or an error. */
static inline int nt_poll_all(struct nt *t)
{
	unsigned int q, nq = netvsc_queues(t->nd);
	int n = 0, ret;

	for (q = 0; q < nq; q++) {
		ret = netvsc_poll(t->nd, q, 0);
		if (ret < 0)
			return ret;
		n += ret;
	}
	return n;
}

/* Polls until @cond(t) holds; sleeps in netvsc_wait when idle. */
static inline int nt_pump(struct nt *t, bool (*cond)(struct nt *, const void *), const void *arg,
			  int ms)
{
	int64_t end = sim_now_ms() + ms;
	unsigned int rr = 0;

	for (;;) {
		int n = nt_poll_all(t), w;

		if (n < 0)
			return n;
		if (cond(t, arg))
			return 0;
		if (sim_now_ms() >= end)
			return -ETIMEDOUT;
		if (n == 0) {
			/* one queue at a time, briefly: any of them may get work */
			w = netvsc_wait(t->nd, rr++ % netvsc_queues(t->nd), -1, 2);
			if (w < 0)
				return w;
		}
	}
}

static inline bool nt_got(struct nt *t, const void *arg)
{
	return t->rx_frames >= *(const uint64_t *)arg;
}

/* Sends @count test frames of @len on queue @q spread over @flows flows,
 * retrying on back-pressure while polling; returns 0 or an error. */
static inline int nt_send_frames(struct nt *t, unsigned int q, uint32_t first, uint32_t count,
				 uint32_t len, uint32_t flows)
{
	static const uint8_t peer[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x99 };
	uint8_t f[9216];
	uint32_t i;
	int64_t end = sim_now_ms() + NT_WAIT_MS;

	for (i = 0; i < count; i++) {
		int ret;

		nt_frame(f, len, t->info.mac, peer, first + i, flows ? (first + i) % flows : 0);
		for (;;) {
			ret = netvsc_send(t->nd, q, f, len, NULL,
					  (i + 1 < count && (i % 32) != 31) ? NETVSC_SEND_MORE : 0);
			if (ret != -EAGAIN)
				break;
			netvsc_flush(t->nd, q);
			ret = nt_poll_all(t);
			if (ret < 0)
				return ret;
			if (sim_now_ms() > end)
				return -ETIMEDOUT;
			if (ret == 0)
				netvsc_wait(t->nd, q, -1, 2);
		}
		if (ret)
			return ret;
	}
	i = (uint32_t)netvsc_flush(t->nd, q);
	return (int)i == -EAGAIN ? 0 : (int)i;
}

#endif /* TESTS_SIM_NETVSC_UTIL_H */
