/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the libnetvsc sim tests (netvsc_util.h).  Compiled once
 * into the tests' helper library.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "netvsc_util.h"

struct nt *nt_live;

void nt_frame(uint8_t *f, uint32_t len, const uint8_t *src, const uint8_t *dst,
	      uint32_t seq, uint32_t flow)
{
	uint32_t magic = NT_MAGIC, i;

	genframe_ipv4_udp(f, len, dst, src, 10u << 24 | 1u << 16 | (flow & 0xffff),
			  10u << 24 | 2u << 16 | 1u, (uint16_t)(10000 + flow * 7919 % 50000),
			  (uint16_t)(5000 + flow));
	memcpy(f + 42, &magic, 4);
	memcpy(f + 46, &seq, 4);
	memcpy(f + 50, &len, 4);
	memset(f + 54, 0, 4);
	for (i = NT_HDR; i < len; i++)
		f[i] = (uint8_t)(seq * 31 + i);
}

bool nt_check(const uint8_t *f, uint32_t len, uint32_t *seq)
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

/* An nt_frame's hash: addresses and UDP ports, bytes 26..37. */
static void nt_check_hash(struct nt *t, const struct netvsc_rx_frame *fr)
{
	static const uint8_t key[NDIS_RSS_KEY_SIZE] = NDIS_RSS_KEY_DEFAULT;
	const uint8_t *f = fr->data;

	if (!(fr->flags & NETVSC_RX_HASH) || fr->len < 38)
		return;
	if (fr->hash == sim_toeplitz(key, f + 26, 12))
		t->rx_hash_ok++;
	else
		t->rx_hash_bad++;
}

void nt_rx(void *arg, const struct netvsc_rx_frame *fr)
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
	nt_check_hash(t, fr);
}

void nt_event(void *arg, const struct netvsc_event *ev)
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

void nt_tx_done(void *arg, unsigned int queue, uint64_t cookie, int status)
{
	struct nt *t = arg;

	(void)queue;
	(void)cookie;
	if (status == 0)
		t->pages_done++;
	else
		t->pages_failed++;
}

struct nt *nt_new_opts(const char *const *opts)
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

struct nt *nt_new(const char *opt1)
{
	const char *o[2] = { opt1, NULL };

	return nt_new_opts(o);
}

int nt_attach_opts(struct nt *t, unsigned int queues, unsigned int mtu,
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

void nt_attach(struct nt *t, unsigned int queues, unsigned int mtu)
{
	int ret = nt_attach_opts(t, queues, mtu, 0, 0);

	if (ret)
		fail_msg("attach: %s (%d)", t->err, ret);
}

void nt_detach(struct nt *t)
{
	netvsc_detach(t->nd);
	t->nd = NULL;
}

int nt_free(struct nt *t)
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

int nt_teardown(void **state)
{
	int rc = 0;

	(void)state;
	if (nt_live) {
		rc = nt_free(nt_live);
		nt_live = NULL;
	}
	return rc;
}

int nt_poll_all(struct nt *t)
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

int nt_pump(struct nt *t, bool (*cond)(struct nt *, const void *), const void *arg,
	    int ms)
{
	int64_t end = sim_now_ms() + ms, now;
	uint64_t all = netvsc_queues(t->nd) >= 64 ? UINT64_MAX :
						    (UINT64_C(1) << netvsc_queues(t->nd)) - 1;

	for (;;) {
		int n = nt_poll_all(t), w;

		if (n < 0)
			return n;
		if (cond(t, arg))
			return 0;
		now = sim_now_ms();
		if (now >= end)
			return -ETIMEDOUT;
		if (n == 0) {
			/* every queue at once, until the deadline: a lost wakeup
			 * fails the caller's test */
			w = netvsc_wait_queues(t->nd, all, -1, (int)(end - now), NULL);
			if (w < 0)
				return w;
		}
	}
}

bool nt_got(struct nt *t, const void *arg)
{
	return t->rx_frames >= *(const uint64_t *)arg;
}

int nt_send_frames(struct nt *t, unsigned int q, uint32_t first, uint32_t count,
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
