/* SPDX-License-Identifier: MIT */
/*
 * Channels back to back: a "guest" and a "host" channel over the same two
 * ring directions (swapped), so every send is received and parsed by the
 * same library code that a host simulator uses.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vmbus/vmbus.h>

#define HDR 4096u
#define RING (HDR + 16384u)
#define XFER_LIMIT (1u << 20)

struct pair {
	uint8_t *mem; /* guest-to-host ring, then host-to-guest ring */
	size_t ring; /* bytes of each, header included */
	struct vmbus_chan *guest;
	struct vmbus_chan *host;
	int guest_signals; /* times the guest asked to signal the host */
	int host_signals;
};

static int count_signal(struct vmbus_chan *chan, void *arg)
{
	(void)chan;
	(*(int *)arg)++;
	return 0;
}

/* Two channels back to back over rings of @ring bytes each. */
static struct pair *make_pair_sized(size_t ring)
{
	struct pair *p = calloc(1, sizeof(*p));
	struct vmbus_chan_attach_opts o = { .sz = sizeof(o) };

	assert_non_null(p);
	p->ring = ring;
	p->mem = calloc(1, 2 * ring);
	assert_non_null(p->mem);
	vmbus_ring_hdr_init((struct vmbus_ring_hdr *)p->mem);
	vmbus_ring_hdr_init((struct vmbus_ring_hdr *)(p->mem + ring));

	o.tx = p->mem;
	o.tx_size = ring;
	o.rx = p->mem + ring;
	o.rx_size = ring;
	o.hdr_size = HDR;
	o.relid = 14;
	o.xfer_limit = XFER_LIMIT;
	o.signal = count_signal;
	o.signal_arg = &p->guest_signals;
	assert_int_equal(vmbus_chan_attach(&o, &p->guest), 0);

	o.tx = p->mem + ring;
	o.rx = p->mem;
	o.signal_arg = &p->host_signals;
	assert_int_equal(vmbus_chan_attach(&o, &p->host), 0);
	return p;
}

static struct pair *make_pair(void)
{
	return make_pair_sized(RING);
}

static void free_pair(struct pair *p)
{
	vmbus_chan_detach(p->guest);
	vmbus_chan_detach(p->host);
	free(p->mem);
	free(p);
}

static void test_inband_roundtrip(void **state)
{
	struct pair *p = make_pair();
	struct vmbus_pkt pkt;
	_Alignas(8) uint8_t buf[256];
	const char msg[] = "hello host";
	int n;

	(void)state;
	assert_int_equal(vmbus_chan_send(p->guest, VMBUS_SEND_COMPLETION, 42, msg, sizeof(msg)), 0);
	assert_int_equal(p->guest_signals, 1); /* empty -> non-empty */
	n = vmbus_chan_recv(p->host, buf, sizeof(buf), &pkt);
	assert_int_equal(n, 16); /* 11 bytes padded to 16 */
	assert_int_equal(pkt.type, VMBUS_PKT_DATA_INBAND);
	assert_int_equal(pkt.flags, VMBUS_PKT_FLAG_COMPLETION_REQUESTED);
	assert_true(pkt.tid == 42);
	assert_memory_equal(pkt.data, msg, sizeof(msg));
	assert_int_equal(pkt.raw_len, 32);

	/* the host completes it; the guest sees a completion with the same id */
	assert_int_equal(vmbus_chan_send_completion(p->host, 0, pkt.tid, "ok", 2), 0);
	n = vmbus_chan_recv(p->guest, buf, sizeof(buf), &pkt);
	assert_int_equal(n, 8);
	assert_int_equal(pkt.type, VMBUS_PKT_COMPLETION);
	assert_int_equal(pkt.flags, 0);
	assert_true(pkt.tid == 42);
	assert_memory_equal(pkt.data, "ok", 2);
	assert_int_equal(vmbus_chan_recv(p->guest, buf, sizeof(buf), &pkt), -EAGAIN);
	free_pair(p);
}

static void test_send_argument_checks(void **state)
{
	struct pair *p = make_pair();
	uint8_t big[20000];
	struct vmbus_chan_stats st = { .sz = sizeof(st) };

	(void)state;
	memset(big, 0, sizeof(big));
	/* completion requested needs a transaction id */
	assert_int_equal(vmbus_chan_send(p->guest, VMBUS_SEND_COMPLETION, 0, "x", 1), -EINVAL);
	/* a completion may not ask for a completion */
	assert_int_equal(vmbus_chan_send_completion(p->guest, VMBUS_SEND_COMPLETION, 1, "x", 1),
			 -EINVAL);
	assert_int_equal(vmbus_chan_send(p->guest, 0x80, 1, "x", 1), -EINVAL);
	assert_int_equal(vmbus_chan_send(p->guest, 0, 0, big, sizeof(big)), -EMSGSIZE);
	/* nothing was written by any of these */
	vmbus_chan_stats(p->guest, &st);
	assert_true(st.tx_packets == 0);
	assert_int_equal(vmbus_chan_rx_empty(p->host), 1);
	free_pair(p);
}

/*
 * A descriptor gives a packet's length in 8-byte units, in 16 bits: in a
 * ring big enough for more, the largest packet it can describe goes
 * through whole, and one 8 bytes longer is refused, not sent with a
 * length cut short.
 */
static void test_send_len8_limit(void **state)
{
	struct pair *p = make_pair_sized(HDR + (2u << 20));
	const size_t max = 0xffffu * 8 - 16; /* payload after the 16-byte descriptor */
	uint8_t *big = malloc(max + 8), *got = malloc(max + 64);
	struct vmbus_pkt pkt;

	(void)state;
	assert_non_null(big);
	assert_non_null(got);
	for (size_t i = 0; i < max + 8; i++)
		big[i] = (uint8_t)(i * 7);
	assert_int_equal(vmbus_chan_send(p->guest, 0, 0, big, max + 8), -EMSGSIZE);
	assert_int_equal(vmbus_chan_rx_empty(p->host), 1);
	assert_int_equal(vmbus_chan_send(p->guest, 0, 0, big, max), 0);
	/* the buffer takes the whole packet, descriptor included */
	assert_int_equal(vmbus_chan_recv(p->host, got, max + 64, &pkt), (int)max);
	assert_int_equal(pkt.len, max);
	assert_memory_equal(pkt.data, big, max);
	free(big);
	free(got);
	free_pair(p);
}

static void test_sendv_gathers(void **state)
{
	struct pair *p = make_pair();
	struct vmbus_pkt pkt;
	_Alignas(8) uint8_t buf[256];
	struct iovec iov[3] = { { "abc", 3 }, { "", 0 }, { "defgh", 5 } };

	(void)state;
	assert_int_equal(vmbus_chan_sendv(p->guest, 0, 0, iov, 3), 0);
	assert_int_equal(vmbus_chan_recv(p->host, buf, sizeof(buf), &pkt), 8);
	assert_memory_equal(pkt.data, "abcdefgh", 8);
	free_pair(p);
}

static void test_tid_never_zero(void **state)
{
	struct pair *p = make_pair();
	uint64_t seen_max = 0;
	int i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		uint64_t t = vmbus_chan_next_tid(p->guest);

		assert_true(t != 0);
		assert_true(t > seen_max);
		seen_max = t;
	}
	free_pair(p);
}

static void test_more_batches_one_signal(void **state)
{
	struct pair *p = make_pair();
	struct vmbus_pkt pkt;
	_Alignas(8) uint8_t buf[64];
	int i;

	(void)state;
	for (i = 0; i < 5; i++)
		assert_int_equal(vmbus_chan_send(p->guest, VMBUS_SEND_MORE, 0, &i, sizeof(i)), 0);
	/* queued, not visible */
	assert_int_equal(vmbus_chan_rx_empty(p->host), 1);
	assert_int_equal(p->guest_signals, 0);
	assert_int_equal(vmbus_chan_flush(p->guest), 0);
	assert_int_equal(p->guest_signals, 1);
	for (i = 0; i < 5; i++) {
		int v;

		assert_int_equal(vmbus_chan_recv(p->host, buf, sizeof(buf), &pkt), 8);
		memcpy(&v, pkt.data, sizeof(v));
		assert_int_equal(v, i);
	}
	/* the ring is not empty for the host until it reads: no second signal */
	assert_int_equal(vmbus_chan_send(p->guest, 0, 0, "a", 1), 0);
	assert_int_equal(vmbus_chan_send(p->guest, 0, 0, "b", 1), 0);
	assert_int_equal(p->guest_signals, 2);
	free_pair(p);
}

static void test_gpa_direct(void **state)
{
	struct pair *p = make_pair();
	static const uint64_t pfn_a[] = { 0x1000, 0x1001 };
	static const uint64_t pfn_b[] = { 0x77 };
	struct vmbus_gpa_buf bufs[2] = {
		{ .len = 5000, .offset = 100, .pfn = pfn_a },
		{ .len = 0, .offset = 4000, .pfn = pfn_b },
	};
	struct vmbus_gpa_iter it;
	struct vmbus_gpa_buf got;
	struct vmbus_pkt pkt;
	_Alignas(8) uint8_t buf[512];

	(void)state;
	/* 5000 bytes from offset 100 span two pages; 96 from 4000 fit in one */
	bufs[1].len = 96;
	assert_int_equal(vmbus_chan_send_gpa(p->guest, VMBUS_SEND_COMPLETION, 9, bufs, 2, NULL, 0),
			 0);
	assert_true(vmbus_chan_recv(p->host, buf, sizeof(buf), &pkt) >= 0);
	assert_int_equal(pkt.type, VMBUS_PKT_DATA_GPA_DIRECT);
	assert_int_equal(pkt.gpa_range_cnt, 2);
	vmbus_gpa_iter_init(&it, &pkt);
	assert_int_equal(vmbus_gpa_iter_next(&it, &got), 1);
	assert_int_equal(got.len, 5000);
	assert_int_equal(got.offset, 100);
	assert_true(got.pfn[0] == 0x1000 && got.pfn[1] == 0x1001);
	assert_int_equal(vmbus_gpa_iter_next(&it, &got), 1);
	assert_int_equal(got.len, 96);
	assert_true(got.pfn[0] == 0x77);
	assert_int_equal(vmbus_gpa_iter_next(&it, &got), 0);
	free_pair(p);
}

static void test_gpa_argument_checks(void **state)
{
	struct pair *p = make_pair();
	static const uint64_t pfn[] = { 1 };
	struct vmbus_gpa_buf b = { .len = 10, .offset = 4096, .pfn = pfn };

	(void)state;
	assert_int_equal(vmbus_chan_send_gpa(p->guest, 0, 0, &b, 1, NULL, 0), -EINVAL);
	b.offset = 0;
	b.len = 0;
	assert_int_equal(vmbus_chan_send_gpa(p->guest, 0, 0, &b, 1, NULL, 0), -EINVAL);
	assert_int_equal(vmbus_chan_send_gpa(p->guest, 0, 0, NULL, 0, NULL, 0), -EINVAL);
	free_pair(p);
}

static void test_xfer_pages(void **state)
{
	struct pair *p = make_pair();
	struct vmbus_xfer_range r[3] = {
		{ .byte_count = 1806, .byte_offset = 0 },
		{ .byte_count = 1806, .byte_offset = 1806 },
		{ .byte_count = 100, .byte_offset = XFER_LIMIT - 100 },
	};
	struct iovec iov = { "nvsp", 4 };
	struct vmbus_pkt pkt;
	_Alignas(8) uint8_t buf[512];

	(void)state;
	assert_int_equal(vmbus_chan_send_xfer(p->host, VMBUS_SEND_COMPLETION, 77, 0xcafe, r, 3, &iov,
					      1),
			 0);
	assert_int_equal(vmbus_chan_recv(p->guest, buf, sizeof(buf), &pkt), 8);
	assert_int_equal(pkt.type, VMBUS_PKT_DATA_XFER_PAGES);
	assert_int_equal(pkt.xfer_pageset_id, 0xcafe);
	assert_int_equal(pkt.xfer_range_cnt, 3);
	assert_int_equal(pkt.xfer_ranges[1].byte_offset, 1806);
	assert_int_equal(pkt.xfer_ranges[2].byte_count, 100);
	assert_memory_equal(pkt.data, "nvsp", 4);
	free_pair(p);
}

/* Ranges outside the receive buffer: the packet is reported, not parsed. */
static void test_xfer_range_beyond_limit(void **state)
{
	static const struct vmbus_xfer_range bad[] = {
		{ .byte_count = 101, .byte_offset = XFER_LIMIT - 100 },
		{ .byte_count = 1, .byte_offset = XFER_LIMIT + 1 },
		{ .byte_count = 0x20, .byte_offset = 0xfffffff0u }, /* would wrap in 32 bits */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pair *p = make_pair();
		struct vmbus_chan_stats st = { .sz = sizeof(st) };
		struct vmbus_pkt pkt;
		_Alignas(8) uint8_t buf[512];

		assert_int_equal(vmbus_chan_send_xfer(p->host, VMBUS_SEND_COMPLETION, 5, 0xcafe,
						      &bad[i], 1, NULL, 0),
				 0);
		assert_int_equal(vmbus_chan_recv(p->guest, buf, sizeof(buf), &pkt), -EBADMSG);
		/* still identifiable, so the guest can complete it */
		assert_true(pkt.tid == 5);
		assert_null(pkt.xfer_ranges);
		/* consumed, and the channel carries on */
		assert_int_equal(vmbus_chan_recv(p->guest, buf, sizeof(buf), &pkt), -EAGAIN);
		assert_null(vmbus_chan_broken(p->guest));
		vmbus_chan_stats(p->guest, &st);
		assert_true(st.rx_errors == 1);
		free_pair(p);
	}
}

/* Writes a raw packet into the host-to-guest ring, as a hostile host would. */
static void host_write_raw(struct pair *p, const void *pkt, size_t len)
{
	struct vmbus_ring *r = vmbus_chan_tx_ring(p->host);
	struct iovec iov = { (void *)pkt, len };

	assert_int_equal(vmbus_ring_write(r, &iov, 1), 0);
	assert_true(vmbus_ring_write_commit(r) >= 0);
}

/* Transfer-page headers that do not hold what they claim. */
static void test_xfer_header_malformed(void **state)
{
	struct {
		struct vmbus_xfer_page_hdr h;
		struct vmbus_xfer_range r[2];
	} msg;
	struct vmbus_pkt pkt;
	_Alignas(8) uint8_t buf[512];
	struct pair *p;

	(void)state;
	/* a header of 16 bytes: too short for the fixed transfer-page part */
	p = make_pair();
	memset(&msg, 0, sizeof(msg));
	msg.h.desc = (struct vmbus_pkt_desc){ .type = VMBUS_PKT_DATA_XFER_PAGES, .offset8 = 2,
					      .len8 = sizeof(msg) / 8, .trans_id = 11 };
	msg.h.range_cnt = 1;
	host_write_raw(p, &msg, sizeof(msg));
	assert_int_equal(vmbus_chan_recv(p->guest, buf, sizeof(buf), &pkt), -EBADMSG);
	assert_true(pkt.tid == 11);
	free_pair(p);

	/* room for one range in the header, but a count of two */
	p = make_pair();
	msg.h.desc.offset8 = (sizeof(msg.h) + sizeof(msg.r[0])) / 8;
	msg.h.range_cnt = 2;
	host_write_raw(p, &msg, sizeof(msg));
	assert_int_equal(vmbus_chan_recv(p->guest, buf, sizeof(buf), &pkt), -EBADMSG);
	free_pair(p);

	/* a count so large that count * 8 would wrap 32 bits */
	p = make_pair();
	msg.h.range_cnt = 0x20000001u;
	host_write_raw(p, &msg, sizeof(msg));
	assert_int_equal(vmbus_chan_recv(p->guest, buf, sizeof(buf), &pkt), -EBADMSG);
	free_pair(p);

	/* exactly fitting: accepted */
	p = make_pair();
	msg.h.desc.offset8 = sizeof(msg) / 8;
	msg.h.range_cnt = 2;
	msg.r[1] = (struct vmbus_xfer_range){ .byte_count = 8, .byte_offset = 16 };
	host_write_raw(p, &msg, sizeof(msg));
	assert_int_equal(vmbus_chan_recv(p->guest, buf, sizeof(buf), &pkt), 0);
	assert_int_equal(pkt.xfer_range_cnt, 2);
	assert_int_equal(pkt.xfer_ranges[1].byte_offset, 16);
	free_pair(p);
}

/* GPA-direct headers that do not hold what they claim (host side parsing). */
static void test_gpa_header_malformed(void **state)
{
	struct {
		struct vmbus_gpa_hdr h;
		struct vmbus_gpa_range r;
		uint64_t pfn[1];
	} msg;
	struct vmbus_pkt pkt;
	_Alignas(8) uint8_t buf[512];
	struct pair *p;
	int i;
	static const struct {
		uint32_t cnt, len, off;
		int expect;
	} rows[] = {
		{ 1, 100, 0, 0 },
		{ 0, 100, 0, -EBADMSG }, /* no ranges */
		{ 1, 0, 0, -EBADMSG }, /* empty range */
		{ 1, 100, 4096, -EBADMSG }, /* offset beyond the first page */
		{ 1, 100, 4000, -EBADMSG }, /* needs 2 pfns, header holds 1 */
		{ 2, 100, 0, -EBADMSG }, /* second range missing */
	};

	(void)state;
	for (i = 0; i < (int)(sizeof(rows) / sizeof(rows[0])); i++) {
		p = make_pair();
		memset(&msg, 0, sizeof(msg));
		msg.h.desc = (struct vmbus_pkt_desc){ .type = VMBUS_PKT_DATA_GPA_DIRECT,
						      .offset8 = sizeof(msg) / 8,
						      .len8 = sizeof(msg) / 8 };
		msg.h.range_cnt = rows[i].cnt;
		msg.r.byte_count = rows[i].len;
		msg.r.byte_offset = rows[i].off;
		msg.pfn[0] = 5;
		/* the guest channel writes into the host's incoming ring */
		{
			struct vmbus_ring *r = vmbus_chan_tx_ring(p->guest);
			struct iovec iov = { &msg, sizeof(msg) };

			assert_int_equal(vmbus_ring_write(r, &iov, 1), 0);
			assert_true(vmbus_ring_write_commit(r) >= 0);
		}
		assert_int_equal(vmbus_chan_recv(p->host, buf, sizeof(buf), &pkt), rows[i].expect);
		free_pair(p);
	}
}

static void test_peek_consume_commit(void **state)
{
	struct pair *p = make_pair();
	struct vmbus_ring_hdr *g2h = (struct vmbus_ring_hdr *)p->mem;
	struct vmbus_pkt pkt;
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		assert_int_equal(vmbus_chan_send(p->guest, 0, 0, &i, sizeof(i)), 0);
	assert_int_equal(vmbus_chan_consume(p->host), -EINVAL); /* nothing peeked */
	for (i = 0; i < 3; i++) {
		int v;

		assert_int_equal(vmbus_chan_peek(p->host, &pkt), 8);
		/* peeking again gives the same packet */
		assert_int_equal(vmbus_chan_peek(p->host, &pkt), 8);
		memcpy(&v, pkt.data, sizeof(v));
		assert_int_equal(v, i);
		assert_int_equal(vmbus_chan_consume(p->host), 0);
	}
	/* consumed but not handed back yet */
	assert_int_equal(g2h->read_index, 0);
	/* finding the ring empty hands the space back */
	assert_int_equal(vmbus_chan_peek(p->host, &pkt), -EAGAIN);
	assert_int_equal(g2h->read_index, g2h->write_index);
	free_pair(p);
}

static void test_recv_unaligned_buffer(void **state)
{
	struct pair *p = make_pair();
	struct vmbus_pkt pkt;
	_Alignas(8) uint8_t buf[72];

	(void)state;
	assert_int_equal(vmbus_chan_send(p->guest, 0, 0, "abc", 3), 0);
	assert_int_equal(vmbus_chan_recv(p->host, buf + 4, 64, &pkt), -EINVAL);
	/* nothing was consumed */
	assert_int_equal(vmbus_chan_recv(p->host, buf, 64, &pkt), 8);
	free_pair(p);
}

static void test_recv_small_buffer(void **state)
{
	struct pair *p = make_pair();
	struct vmbus_pkt pkt;
	_Alignas(8) uint8_t small[16];
	_Alignas(8) uint8_t big[128];

	(void)state;
	assert_int_equal(vmbus_chan_send(p->guest, 0, 0, "0123456789abcdefXYZ", 19), 0);
	assert_int_equal(vmbus_chan_recv(p->host, small, sizeof(small), &pkt), -ENOBUFS);
	assert_int_equal(pkt.raw_len, 40);
	/* the packet stayed */
	assert_int_equal(vmbus_chan_recv(p->host, big, sizeof(big), &pkt), 24);
	assert_memory_equal(pkt.data, "0123456789abcdefXYZ", 19);
	free_pair(p);
}

static void test_stats(void **state)
{
	struct pair *p = make_pair();
	struct vmbus_chan_stats gs = { .sz = sizeof(gs) }, hs = { .sz = sizeof(hs) };
	struct vmbus_pkt pkt;
	_Alignas(8) uint8_t buf[64];

	(void)state;
	assert_int_equal(vmbus_chan_send(p->guest, 0, 0, "abcd", 4), 0);
	assert_int_equal(vmbus_chan_send(p->guest, 0, 0, "efghijkl", 8), 0);
	assert_int_equal(vmbus_chan_recv(p->host, buf, sizeof(buf), &pkt), 8);
	assert_int_equal(vmbus_chan_peek(p->host, &pkt), 8);
	assert_int_equal(vmbus_chan_consume(p->host), 0);
	vmbus_chan_stats(p->guest, &gs);
	vmbus_chan_stats(p->host, &hs);
	assert_true(gs.tx_packets == 2 && gs.tx_bytes == 12 && gs.tx_signals == 1);
	assert_true(hs.rx_packets == 2 && hs.rx_bytes == 16 && hs.rx_errors == 0);
	free_pair(p);
}

/* Fill the ring: -EAGAIN, counted, and nothing lost; drain and go on. */
static void test_ring_full_backpressure(void **state)
{
	struct pair *p = make_pair();
	struct vmbus_chan_stats st = { .sz = sizeof(st) };
	struct vmbus_pkt pkt;
	uint8_t payload[1000];
	_Alignas(8) uint8_t buf[2048];
	int sent = 0, got = 0, ret;

	(void)state;
	memset(payload, 0, sizeof(payload));
	for (;;) {
		memcpy(payload, &sent, sizeof(sent));
		ret = vmbus_chan_send(p->guest, 0, 0, payload, sizeof(payload));
		if (ret == -EAGAIN)
			break;
		assert_int_equal(ret, 0);
		sent++;
		assert_true(sent < 100);
	}
	vmbus_chan_stats(p->guest, &st);
	assert_true(st.tx_ring_full == 1);
	while (vmbus_chan_recv(p->host, buf, sizeof(buf), &pkt) > 0) {
		int v;

		memcpy(&v, pkt.data, sizeof(v));
		assert_int_equal(v, got);
		got++;
	}
	assert_int_equal(got, sent);
	memcpy(payload, &sent, sizeof(sent));
	assert_int_equal(vmbus_chan_send(p->guest, 0, 0, payload, sizeof(payload)), 0);
	free_pair(p);
}

/* A corrupt incoming ring breaks the channel: every call says -EPROTO. */
static void test_broken_channel(void **state)
{
	struct pair *p = make_pair();
	struct vmbus_ring_hdr *h2g = (struct vmbus_ring_hdr *)(p->mem + RING);
	struct vmbus_chan_stats st = { .sz = sizeof(st) };
	struct vmbus_pkt pkt;
	_Alignas(8) uint8_t buf[64];

	(void)state;
	h2g->write_index = 7;
	assert_int_equal(vmbus_chan_recv(p->guest, buf, sizeof(buf), &pkt), -EPROTO);
	assert_non_null(vmbus_chan_broken(p->guest));
	assert_int_equal(vmbus_chan_peek(p->guest, &pkt), -EPROTO);
	assert_int_equal(vmbus_chan_send(p->guest, 0, 0, "x", 1), -EPROTO);
	assert_int_equal(vmbus_chan_rx_empty(p->guest), -EPROTO);
	vmbus_chan_stats(p->guest, &st);
	assert_true(st.rx_errors >= 1);
	free_pair(p);
}

static void test_wait_without_device(void **state)
{
	struct pair *p = make_pair();

	(void)state;
	/* data present: returns at once, mask cleared */
	assert_int_equal(vmbus_chan_send(p->host, 0, 0, "x", 1), 0);
	assert_int_equal(vmbus_chan_wait(p->guest, 0), 0);
	/* empty and no device to sleep on */
	assert_int_equal(vmbus_chan_wait(p->host, 0), -ENOTSUP);
	free_pair(p);
}

static void test_dump(void **state)
{
	struct pair *p = make_pair();
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	(void)state;
	assert_non_null(f);
	assert_int_equal(vmbus_chan_send(p->guest, VMBUS_SEND_COMPLETION, 3, "abc", 3), 0);
	vmbus_chan_dump(f, p->guest);
	fclose(f);
	assert_non_null(strstr(out, "channel relid 14"));
	assert_non_null(strstr(out, "write_index 32"));
	assert_non_null(strstr(out, "next packet: type 6 offset8 2 len8 3 flags 0x1 trans_id 3"));
	free(out);
	free_pair(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inband_roundtrip),
		cmocka_unit_test(test_send_argument_checks),
		cmocka_unit_test(test_send_len8_limit),
		cmocka_unit_test(test_sendv_gathers),
		cmocka_unit_test(test_tid_never_zero),
		cmocka_unit_test(test_more_batches_one_signal),
		cmocka_unit_test(test_gpa_direct),
		cmocka_unit_test(test_gpa_argument_checks),
		cmocka_unit_test(test_xfer_pages),
		cmocka_unit_test(test_xfer_range_beyond_limit),
		cmocka_unit_test(test_xfer_header_malformed),
		cmocka_unit_test(test_gpa_header_malformed),
		cmocka_unit_test(test_peek_consume_commit),
		cmocka_unit_test(test_recv_small_buffer),
		cmocka_unit_test(test_recv_unaligned_buffer),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_ring_full_backpressure),
		cmocka_unit_test(test_broken_channel),
		cmocka_unit_test(test_wait_without_device),
		cmocka_unit_test(test_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
