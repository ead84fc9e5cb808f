/* SPDX-License-Identifier: MIT */
/*
 * Ring algebra: records, padding, trailers, the strict space rule, wrap,
 * batches, the signalling decisions, and every corrupt-ring case.
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
#define DSIZE 4096u

struct fixture {
	uint8_t *mem; /* header page + data */
	struct vmbus_ring *w; /* writer view */
	struct vmbus_ring *r; /* reader view */
};

static struct vmbus_ring_hdr *hdr_of(struct fixture *f)
{
	return (struct vmbus_ring_hdr *)f->mem;
}

static uint8_t *data_of(struct fixture *f)
{
	return f->mem + HDR;
}

/* Sets up a ring whose indices both start at @pos. */
static struct fixture *make_ring(uint32_t pos, uint32_t dsize)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->mem = calloc(1, HDR + dsize);
	assert_non_null(f->mem);
	vmbus_ring_hdr_init(hdr_of(f));
	hdr_of(f)->write_index = pos;
	hdr_of(f)->read_index = pos;
	assert_int_equal(vmbus_ring_attach(f->mem, HDR + dsize, HDR, &f->w), 0);
	assert_int_equal(vmbus_ring_attach(f->mem, HDR + dsize, HDR, &f->r), 0);
	return f;
}

static void free_ring(struct fixture *f)
{
	vmbus_ring_detach(f->w);
	vmbus_ring_detach(f->r);
	free(f->mem);
	free(f);
}

/* Writes one packet: descriptor (type 6, offset8 2) + @len payload bytes of @fill. */
static int put_pkt(struct vmbus_ring *w, uint32_t len, uint8_t fill, uint64_t tid)
{
	struct vmbus_pkt_desc d = {
		.type = VMBUS_PKT_DATA_INBAND,
		.offset8 = 2,
		.len8 = (uint16_t)((16 + len + 7) / 8),
		.trans_id = tid,
	};
	uint8_t payload[8192];
	struct iovec iov[2] = { { &d, sizeof(d) }, { payload, len } };

	assert_true(len <= sizeof(payload));
	memset(payload, fill, len);
	return vmbus_ring_write(w, iov, len ? 2 : 1);
}

/* Writes 8-byte packets until the ring refuses one; returns how many fit. */
static unsigned int fill(struct vmbus_ring *w)
{
	unsigned int n = 0;

	/* bounded: a broken space rule must fail the test, not spin */
	while (n <= DSIZE / 24 && put_pkt(w, 8, 0x5a, n + 1) == 0)
		n++;
	assert_true(n <= DSIZE / 24);
	return n;
}

static int get_pkt(struct vmbus_ring *r, uint8_t *buf, size_t len)
{
	int n = vmbus_ring_peek(r, buf, len, NULL);

	if (n > 0)
		assert_int_equal(vmbus_ring_consume(r), 0);
	return n;
}

static void test_roundtrip_and_trailer(void **state)
{
	struct fixture *f = make_ring(0, DSIZE);
	uint8_t buf[256];
	uint64_t trailer;
	struct vmbus_pkt_desc d;
	int i;

	(void)state;
	assert_int_equal(put_pkt(f->w, 21, 0xab, 7), 0);
	/* queued, not yet visible */
	assert_int_equal(hdr_of(f)->write_index, 0);
	assert_int_equal(vmbus_ring_peek(f->r, buf, sizeof(buf), NULL), -EAGAIN);
	assert_int_equal(vmbus_ring_write_commit(f->w), 1); /* was empty, mask clear */
	/* 16 + 21 = 37, padded to 40, plus 8 trailer */
	assert_int_equal(hdr_of(f)->write_index, 48);

	/* trailer holds the record's start index in its upper half */
	memcpy(&trailer, data_of(f) + 40, 8);
	assert_true(trailer == VMBUS_RING_TRAILER(0));
	/* padding is zeroed */
	for (i = 37; i < 40; i++)
		assert_int_equal(data_of(f)[i], 0);

	assert_int_equal(get_pkt(f->r, buf, sizeof(buf)), 40);
	memcpy(&d, buf, sizeof(d));
	assert_int_equal(d.type, VMBUS_PKT_DATA_INBAND);
	assert_int_equal(d.len8, 5);
	assert_true(d.trans_id == 7);
	for (i = 16; i < 37; i++)
		assert_int_equal(buf[i], 0xab);
	assert_int_equal(vmbus_ring_read_commit(f->r), 0);
	assert_int_equal(hdr_of(f)->read_index, 48);
	assert_int_equal(vmbus_ring_peek(f->r, buf, sizeof(buf), NULL), -EAGAIN);
	free_ring(f);
}

static void test_second_record_trailer(void **state)
{
	struct fixture *f = make_ring(0, DSIZE);
	uint64_t trailer;

	(void)state;
	assert_int_equal(put_pkt(f->w, 8, 1, 1), 0);
	assert_int_equal(put_pkt(f->w, 8, 2, 2), 0);
	assert_int_equal(vmbus_ring_write_commit(f->w), 1);
	/* second record starts at 32, its trailer is at 32 + 24 */
	memcpy(&trailer, data_of(f) + 56, 8);
	assert_true(trailer == VMBUS_RING_TRAILER(32));
	free_ring(f);
}

/* The strict rule: a record of T bytes needs more than T bytes free. */
static void test_strict_space_rule(void **state)
{
	struct fixture *f = make_ring(0, DSIZE);
	uint32_t rec = 16 + 8 + 8; /* 8-byte payload: 32-byte record */
	uint8_t buf[64];

	(void)state;
	/* fill: the last 32 bytes can never be used by a 32-byte record */
	assert_int_equal(fill(f->w), DSIZE / rec - 1);
	assert_int_equal(vmbus_ring_writable(f->w), rec);
	/* a smaller record still fits while free > its size: 24 bytes */
	assert_int_equal(put_pkt(f->w, 0, 0, 1), 0);
	assert_int_equal(vmbus_ring_writable(f->w), 8);
	/* with 8 free, nothing fits: the ring never becomes completely full */
	assert_int_equal(put_pkt(f->w, 0, 0, 1), -EAGAIN);
	assert_int_equal(vmbus_ring_write_commit(f->w), 1);

	/* free exactly one record's worth: still refused (free == T) */
	assert_int_equal(get_pkt(f->r, buf, sizeof(buf)), 24);
	assert_int_equal(vmbus_ring_read_commit(f->r), 0);
	assert_int_equal(vmbus_ring_writable(f->w), 8 + rec);
	assert_int_equal(put_pkt(f->w, 8, 0, 1), 0); /* 40 > 32 */
	assert_int_equal(vmbus_ring_writable(f->w), 8);
	free_ring(f);
}

/* has_room: the cached read index first, the shared one only when short. */
static void test_has_room(void **state)
{
	struct fixture *f = make_ring(0, DSIZE);
	uint8_t buf[64];
	int n;

	(void)state;
	assert_int_equal(vmbus_ring_has_room(f->w, DSIZE - 1), 1);
	assert_int_equal(vmbus_ring_has_room(f->w, DSIZE), 0);
	n = fill(f->w); /* 32-byte records, 32 bytes left free */
	assert_int_equal(n, DSIZE / 32 - 1);
	assert_int_equal(vmbus_ring_write_commit(f->w), 1);
	assert_int_equal(vmbus_ring_has_room(f->w, 32), 0);
	assert_int_equal(vmbus_ring_has_room(f->w, 31), 1);
	/* the reader frees a record: seen only by looking again */
	assert_int_equal(get_pkt(f->r, buf, sizeof(buf)), 24);
	assert_int_equal(vmbus_ring_read_commit(f->r), 0);
	assert_int_equal(vmbus_ring_has_room(f->w, 32 + 31), 1);
	assert_int_equal(vmbus_ring_has_room(f->w, 64), 0);
	/* enough in the cached view: the shared index is not read (a
	 * corrupt one goes unnoticed until it is) */
	hdr_of(f)->read_index = DSIZE + 8;
	assert_int_equal(vmbus_ring_has_room(f->w, 8), 1);
	assert_int_equal(vmbus_ring_has_room(f->w, 64), -EPROTO);
	assert_int_equal(vmbus_ring_has_room(f->w, 8), -EPROTO);
	free_ring(f);
}

/* peek_next: the packet after the peeked one, as seen at the last look. */
static void test_peek_next(void **state)
{
	struct fixture *f = make_ring(DSIZE - 96, DSIZE);
	struct vmbus_pkt_desc d;
	uint8_t buf[128], next[128];

	(void)state;
	assert_int_equal(vmbus_ring_peek_next(f->r, next, sizeof(next)), -EINVAL);
	assert_int_equal(put_pkt(f->w, 32, 0x11, 1), 0); /* 48 + 8 bytes */
	assert_int_equal(vmbus_ring_write_commit(f->w), 1);
	assert_int_equal(vmbus_ring_peek(f->r, buf, sizeof(buf), NULL), 48);
	/* nothing after it yet */
	assert_int_equal(vmbus_ring_peek_next(f->r, next, sizeof(next)), -EAGAIN);
	assert_int_equal(put_pkt(f->w, 32, 0x22, 2), 0);
	assert_true(vmbus_ring_write_commit(f->w) >= 0); /* not empty: no signal */
	/* written, but after the reader last looked: not seen */
	assert_int_equal(vmbus_ring_peek_next(f->r, next, sizeof(next)), -EAGAIN);
	assert_int_equal(vmbus_ring_consume(f->r), 0);
	assert_int_equal(put_pkt(f->w, 16, 0x33, 3), 0);
	assert_true(vmbus_ring_write_commit(f->w) >= 0); /* not empty: no signal */
	/* the peek looks again: now the third packet is seen too */
	assert_int_equal(vmbus_ring_peek(f->r, buf, sizeof(buf), NULL), 48);
	assert_int_equal(buf[16], 0x22);
	assert_int_equal(vmbus_ring_peek_next(f->r, next, sizeof(next)), 32);
	memcpy(&d, next, sizeof(d));
	assert_int_equal(d.trans_id, 3);
	assert_int_equal(next[16], 0x33);
	assert_int_equal(next[31], 0x33);
	/* a next packet that wraps round the end comes whole */
	{
		struct fixture *g = make_ring(DSIZE - 96, DSIZE);

		assert_int_equal(put_pkt(g->w, 32, 0x44, 4), 0);
		assert_int_equal(put_pkt(g->w, 32, 0x55, 5), 0); /* at DSIZE - 40 */
		assert_int_equal(vmbus_ring_write_commit(g->w), 1);
		assert_int_equal(vmbus_ring_peek(g->r, buf, sizeof(buf), NULL), 48);
		assert_int_equal(vmbus_ring_peek_next(g->r, next, sizeof(next)), 48);
		memcpy(&d, next, sizeof(d));
		assert_int_equal(d.trans_id, 5);
		assert_int_equal(next[16], 0x55);
		assert_int_equal(next[47], 0x55);
		free_ring(g);
	}
	/* @len caps the copy */
	memset(next, 0, sizeof(next));
	assert_int_equal(vmbus_ring_peek_next(f->r, next, 20), 20);
	assert_int_equal(next[19], 0x33);
	assert_int_equal(next[20], 0);
	/* a length beyond what was seen: no hint, and the ring is not broken */
	memcpy(&d, data_of(f) + (DSIZE - 96 + 56 + 56) % DSIZE, sizeof(d));
	d.len8 = 200;
	memcpy(data_of(f) + (DSIZE - 96 + 56 + 56) % DSIZE, &d, sizeof(d));
	assert_int_equal(vmbus_ring_peek_next(f->r, next, sizeof(next)), -EAGAIN);
	assert_int_equal(vmbus_ring_consume(f->r), 0);
	assert_int_equal(vmbus_ring_peek(f->r, buf, sizeof(buf), NULL), -EPROTO);
	free_ring(f);
}

static void test_exactly_empty(void **state)
{
	struct fixture *f = make_ring(DSIZE - 64, DSIZE);
	uint8_t buf[64];
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		assert_int_equal(put_pkt(f->w, 8, (uint8_t)i, (uint64_t)i + 1), 0);
	assert_int_equal(vmbus_ring_write_commit(f->w), 1);
	assert_int_equal(vmbus_ring_readable(f->r), 96);
	for (i = 0; i < 3; i++)
		assert_int_equal(get_pkt(f->r, buf, sizeof(buf)), 24);
	assert_int_equal(vmbus_ring_readable(f->r), 0);
	assert_int_equal(vmbus_ring_peek(f->r, buf, sizeof(buf), NULL), -EAGAIN);
	assert_int_equal(vmbus_ring_read_commit(f->r), 0);
	assert_int_equal(hdr_of(f)->read_index, hdr_of(f)->write_index);
	assert_int_equal(hdr_of(f)->write_index, 32); /* wrapped */
	assert_int_equal(vmbus_ring_writable(f->w), DSIZE);
	free_ring(f);
}

/* A record split at every 8-byte position across the end of the data area. */
static void test_wrap_every_position(void **state)
{
	uint32_t start;

	(void)state;
	for (start = DSIZE - 200; start < DSIZE; start += 8) {
		struct fixture *f = make_ring(start, DSIZE);
		uint8_t buf[256];
		uint64_t trailer;
		uint32_t tpos;
		int i, n;

		assert_int_equal(put_pkt(f->w, 150, (uint8_t)start, start), 0);
		assert_int_equal(vmbus_ring_write_commit(f->w), 1);
		/* 16 + 150 -> 168 bytes + trailer */
		tpos = (start + 168) % DSIZE;
		assert_int_equal(hdr_of(f)->write_index, (start + 176) % DSIZE);
		/* the trailer itself may be split */
		for (i = 0; i < 8; i++)
			((uint8_t *)&trailer)[i] = data_of(f)[(tpos + (uint32_t)i) % DSIZE];
		assert_true(trailer == VMBUS_RING_TRAILER(start));
		n = get_pkt(f->r, buf, sizeof(buf));
		assert_int_equal(n, 168);
		for (i = 16; i < 166; i++)
			assert_int_equal(buf[i], (uint8_t)start);
		assert_int_equal(buf[166], 0);
		free_ring(f);
	}
}

static void test_batch_one_publish(void **state)
{
	struct fixture *f = make_ring(0, DSIZE);
	uint8_t buf[64];
	int i;

	(void)state;
	for (i = 0; i < 10; i++)
		assert_int_equal(put_pkt(f->w, 8, (uint8_t)i, (uint64_t)i + 1), 0);
	assert_int_equal(hdr_of(f)->write_index, 0);
	assert_int_equal(vmbus_ring_write_commit(f->w), 1);
	assert_int_equal(hdr_of(f)->write_index, 320);
	/* nothing more queued: a second commit neither publishes nor signals */
	assert_int_equal(vmbus_ring_write_commit(f->w), 0);
	for (i = 0; i < 10; i++) {
		struct vmbus_pkt_desc d;

		assert_int_equal(get_pkt(f->r, buf, sizeof(buf)), 24);
		memcpy(&d, buf, sizeof(d));
		assert_true(d.trans_id == (uint64_t)i + 1);
		assert_int_equal(buf[16], i);
	}
	free_ring(f);
}

static void test_abort_drops_queued(void **state)
{
	struct fixture *f = make_ring(0, DSIZE);
	uint8_t buf[64];

	(void)state;
	assert_int_equal(put_pkt(f->w, 8, 1, 1), 0);
	assert_int_equal(vmbus_ring_write_commit(f->w), 1);
	assert_int_equal(put_pkt(f->w, 8, 2, 2), 0);
	vmbus_ring_write_abort(f->w);
	assert_int_equal(vmbus_ring_write_commit(f->w), 0);
	assert_int_equal(get_pkt(f->r, buf, sizeof(buf)), 24);
	assert_int_equal(vmbus_ring_peek(f->r, buf, sizeof(buf), NULL), -EAGAIN);
	free_ring(f);
}

static void test_message_size(void **state)
{
	struct fixture *f = make_ring(0, DSIZE);
	uint8_t big[DSIZE];
	struct iovec iov = { big, 0 };

	(void)state;
	memset(big, 0, sizeof(big));
	/* largest record: packet + trailer < data size, so packet <= DSIZE - 16 */
	assert_int_equal(vmbus_ring_max_packet(f->w), DSIZE - 16);
	iov.iov_len = DSIZE - 15;
	assert_int_equal(vmbus_ring_write(f->w, &iov, 1), -EMSGSIZE);
	iov.iov_len = DSIZE - 16;
	assert_int_equal(vmbus_ring_write(f->w, &iov, 1), 0);
	iov.iov_len = 0;
	assert_int_equal(vmbus_ring_write(f->w, &iov, 1), -EINVAL);
	free_ring(f);
}

/* Writer signalling: mask x "ring was empty before the batch". */
static void test_writer_signal_table(void **state)
{
	static const struct {
		uint32_t mask;
		bool reader_caught_up;
		int expect;
	} rows[] = {
		{ 0, true, 1 },
		{ 0, false, 0 },
		{ 1, true, 0 },
		{ 1, false, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct fixture *f = make_ring(0, DSIZE);

		if (!rows[i].reader_caught_up) {
			/* one packet the reader has not read yet */
			assert_int_equal(put_pkt(f->w, 8, 1, 1), 0);
			vmbus_ring_write_commit(f->w);
		}
		hdr_of(f)->interrupt_mask = rows[i].mask;
		assert_int_equal(put_pkt(f->w, 8, 2, 2), 0);
		assert_int_equal(vmbus_ring_write_commit(f->w), rows[i].expect);
		free_ring(f);
	}
}

/* The reader caught up partially: not empty, so no signal. */
static void test_writer_no_signal_when_reader_behind(void **state)
{
	struct fixture *f = make_ring(0, DSIZE);
	uint8_t buf[64];

	(void)state;
	assert_int_equal(put_pkt(f->w, 8, 1, 1), 0);
	assert_int_equal(put_pkt(f->w, 8, 1, 2), 0);
	assert_int_equal(vmbus_ring_write_commit(f->w), 1);
	assert_int_equal(get_pkt(f->r, buf, sizeof(buf)), 24);
	assert_int_equal(vmbus_ring_read_commit(f->r), 0);
	assert_int_equal(put_pkt(f->w, 8, 1, 3), 0);
	assert_int_equal(vmbus_ring_write_commit(f->w), 0);
	assert_int_equal(get_pkt(f->r, buf, sizeof(buf)), 24);
	assert_int_equal(get_pkt(f->r, buf, sizeof(buf)), 24);
	assert_int_equal(vmbus_ring_read_commit(f->r), 0);
	assert_int_equal(put_pkt(f->w, 8, 1, 4), 0);
	assert_int_equal(vmbus_ring_write_commit(f->w), 1);
	free_ring(f);
}

/*
 * Reader signalling (pending_send_sz): the writer asked for P bytes; the
 * reader frees F bytes of a ring whose free space was B before.  Signal iff
 * the feature bit is set, P != 0, B <= P and B + F > P.
 */
static void test_reader_signal_table(void **state)
{
	static const struct {
		uint32_t feature;
		uint32_t pending;
		unsigned int fill; /* 32-byte records written before reading */
		unsigned int read; /* records read */
		int expect;
	} rows[] = {
		/* 4096-byte ring, 127 records: 32 bytes free */
		{ 1, 64, 127, 1, 0 }, /* 32 -> 64: not more than 64 */
		{ 1, 64, 127, 2, 1 }, /* 32 -> 96: crosses */
		{ 1, 32, 127, 1, 1 }, /* 32 -> 64: crosses (32 was not enough) */
		{ 1, 16, 127, 1, 0 }, /* 32 free was already enough */
		{ 0, 64, 127, 2, 0 }, /* feature bit clear */
		{ 1, 0, 127, 2, 0 }, /* nobody waits */
		{ 1, 4000, 127, 127, 1 }, /* everything freed: 4096 > 4000 */
		{ 1, 4096, 127, 127, 0 }, /* can never be satisfied */
		{ 1, 64, 10, 2, 0 }, /* plenty free before */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct fixture *f = make_ring(0, DSIZE);
		uint8_t buf[64];
		unsigned int k;

		for (k = 0; k < rows[i].fill; k++)
			assert_int_equal(put_pkt(f->w, 8, 0, k + 1), 0);
		vmbus_ring_write_commit(f->w);
		hdr_of(f)->feature_bits = rows[i].feature;
		hdr_of(f)->pending_send_sz = rows[i].pending;
		for (k = 0; k < rows[i].read; k++)
			assert_int_equal(get_pkt(f->r, buf, sizeof(buf)), 24);
		assert_int_equal(vmbus_ring_read_commit(f->r), rows[i].expect);
		free_ring(f);
	}
}

static void test_writer_wait(void **state)
{
	struct fixture *f = make_ring(0, DSIZE);
	uint8_t buf[64];

	(void)state;
	fill(f->w);
	vmbus_ring_write_commit(f->w);
	/* 32 free: asking for 64 must wait and leave the request visible */
	assert_int_equal(vmbus_ring_write_wait(f->w, 64), 0);
	assert_int_equal(hdr_of(f)->pending_send_sz, 64);
	/* the reader frees two records: its commit says "signal the writer" */
	assert_int_equal(get_pkt(f->r, buf, sizeof(buf)), 24);
	assert_int_equal(get_pkt(f->r, buf, sizeof(buf)), 24);
	assert_int_equal(vmbus_ring_read_commit(f->r), 1);
	/* now the space is there: the request is withdrawn */
	assert_int_equal(vmbus_ring_write_wait(f->w, 64), 1);
	assert_int_equal(hdr_of(f)->pending_send_sz, 0);
	assert_int_equal(vmbus_ring_write_wait(f->w, 0), 1);
	free_ring(f);
}

/*
 * Records queued but not published take room the reader cannot see: a
 * writer that waits with records queued must be signalled when there is
 * room for them and for what it waits for, or it waits forever.
 */
static void test_writer_wait_counts_queued(void **state)
{
	struct fixture *f = make_ring(0, DSIZE);
	uint8_t buf[64];
	unsigned int i;

	(void)state;
	/* 127 records of 32 bytes published, 32 bytes free */
	assert_int_equal(fill(f->w), 127);
	vmbus_ring_write_commit(f->w);
	/* the reader frees 20: 672 free as it sees the ring */
	for (i = 0; i < 20; i++)
		assert_int_equal(get_pkt(f->r, buf, sizeof(buf)), 24);
	assert_int_equal(vmbus_ring_read_commit(f->r), 0);
	/* the writer queues 10 (320 bytes, unpublished) and waits for 400 more */
	for (i = 0; i < 10; i++)
		assert_int_equal(put_pkt(f->w, 8, 0, 1), 0);
	assert_int_equal(vmbus_ring_write_wait(f->w, 400), 0);
	assert_int_equal(hdr_of(f)->pending_send_sz, 720);
	/* 736 free for the reader: it crossed 720 and must signal */
	for (i = 0; i < 2; i++)
		assert_int_equal(get_pkt(f->r, buf, sizeof(buf)), 24);
	assert_int_equal(vmbus_ring_read_commit(f->r), 1);
	assert_int_equal(vmbus_ring_write_wait(f->w, 400), 1);
	free_ring(f);
}

static void test_arm(void **state)
{
	struct fixture *f = make_ring(0, DSIZE);
	uint8_t buf[64];

	(void)state;
	hdr_of(f)->interrupt_mask = 1;
	assert_int_equal(vmbus_ring_arm(f->r), 0);
	assert_int_equal(hdr_of(f)->interrupt_mask, 0);
	vmbus_ring_disarm(f->r);
	assert_int_equal(hdr_of(f)->interrupt_mask, 1);
	assert_int_equal(put_pkt(f->w, 8, 0, 1), 0);
	/* masked: the writer does not signal */
	assert_int_equal(vmbus_ring_write_commit(f->w), 0);
	/* arming finds the packet that came while masked */
	assert_int_equal(vmbus_ring_arm(f->r), 1);
	assert_int_equal(get_pkt(f->r, buf, sizeof(buf)), 24);
	assert_int_equal(vmbus_ring_arm(f->r), 0);
	free_ring(f);
}

/* --- corrupt rings ------------------------------------------------------- */

static void expect_broken_reader(struct fixture *f)
{
	uint8_t buf[512];

	assert_int_equal(vmbus_ring_peek(f->r, buf, sizeof(buf), NULL), -EPROTO);
	assert_non_null(vmbus_ring_broken(f->r));
	/* and it stays broken, without touching memory again */
	assert_int_equal(vmbus_ring_peek(f->r, buf, sizeof(buf), NULL), -EPROTO);
	assert_int_equal(vmbus_ring_consume(f->r), -EPROTO);
	assert_int_equal(vmbus_ring_read_commit(f->r), -EPROTO);
	assert_int_equal(vmbus_ring_readable(f->r), -EPROTO);
	assert_int_equal(vmbus_ring_arm(f->r), -EPROTO);
}

static void test_corrupt_write_index(void **state)
{
	static const uint32_t bad[] = { DSIZE, DSIZE + 8, 0xfffffff8u, 12, 3 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fixture *f = make_ring(0, DSIZE);

		hdr_of(f)->write_index = bad[i];
		expect_broken_reader(f);
		free_ring(f);
	}
}

static void test_corrupt_read_index(void **state)
{
	static const uint32_t bad[] = { DSIZE, 0xffffffffu, 4 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fixture *f = make_ring(0, DSIZE);

		/* fill until the writer must look at the reader's index */
		fill(f->w);
		vmbus_ring_write_commit(f->w);
		hdr_of(f)->read_index = bad[i];
		assert_int_equal(put_pkt(f->w, 8, 0, 1), -EPROTO);
		assert_non_null(vmbus_ring_broken(f->w));
		assert_int_equal(put_pkt(f->w, 8, 0, 1), -EPROTO);
		assert_int_equal(vmbus_ring_write_commit(f->w), -EPROTO);
		free_ring(f);
	}
}

/* A descriptor written straight into the data area, as a hostile host would. */
static void plant(struct fixture *f, uint16_t off8, uint16_t len8, uint32_t windex)
{
	struct vmbus_pkt_desc d = { .type = 6, .offset8 = off8, .len8 = len8 };

	memcpy(data_of(f), &d, sizeof(d));
	hdr_of(f)->write_index = windex;
}

static void test_corrupt_descriptors(void **state)
{
	static const struct {
		uint16_t off8, len8;
		uint32_t windex;
	} rows[] = {
		{ 0, 3, 32 }, /* offset8 < 2 */
		{ 1, 3, 32 }, /* offset8 < 2 */
		{ 4, 3, 32 }, /* offset8 > len8 */
		{ 2, 4, 32 }, /* 32 + 8 > 32 available */
		{ 2, 3, 24 }, /* 24 + 8 > 24 available */
		{ 2, 0xffff, 64 }, /* huge len8 */
		{ 2, 2, 16 }, /* fewer bytes than descriptor + trailer */
		{ 2, 2, 8 }, /* a fragment */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct fixture *f = make_ring(0, DSIZE);

		plant(f, rows[i].off8, rows[i].len8, rows[i].windex);
		expect_broken_reader(f);
		free_ring(f);
	}
}

/* The boundary case that is legal: offset8 == len8 (no payload). */
static void test_descriptor_boundaries_accepted(void **state)
{
	struct fixture *f = make_ring(0, DSIZE);
	uint8_t buf[64];

	(void)state;
	plant(f, 2, 2, 24);
	assert_int_equal(vmbus_ring_peek(f->r, buf, sizeof(buf), NULL), 16);
	free_ring(f);
}

static void test_small_buffer(void **state)
{
	struct fixture *f = make_ring(0, DSIZE);
	uint8_t buf[64];
	uint32_t need = 0;

	(void)state;
	assert_int_equal(put_pkt(f->w, 100, 1, 1), 0);
	vmbus_ring_write_commit(f->w);
	assert_int_equal(vmbus_ring_peek(f->r, buf, sizeof(buf), &need), -ENOBUFS);
	assert_int_equal(need, 120);
	assert_null(vmbus_ring_broken(f->r));
	assert_int_equal(vmbus_ring_consume(f->r), -EINVAL); /* nothing peeked */
	free_ring(f);
}

static void test_attach_rejects(void **state)
{
	uint8_t *mem = calloc(1, HDR + DSIZE);
	struct vmbus_ring *r = NULL;

	(void)state;
	assert_non_null(mem);
	assert_int_equal(vmbus_ring_attach(mem, HDR, HDR, &r), -EINVAL);
	assert_int_equal(vmbus_ring_attach(mem, HDR + 12, HDR, &r), -EINVAL);
	assert_int_equal(vmbus_ring_attach(mem, HDR + DSIZE, 16, &r), -EINVAL);
	((struct vmbus_ring_hdr *)mem)->write_index = DSIZE;
	assert_int_equal(vmbus_ring_attach(mem, HDR + DSIZE, HDR, &r), -EPROTO);
	((struct vmbus_ring_hdr *)mem)->write_index = 0;
	((struct vmbus_ring_hdr *)mem)->read_index = 9;
	assert_int_equal(vmbus_ring_attach(mem, HDR + DSIZE, HDR, &r), -EPROTO);
	assert_null(r);
	free(mem);
}

/* Many packets of varied sizes through a small ring, checking each byte. */
static void test_stream_varied_sizes(void **state)
{
	struct fixture *f = make_ring(DSIZE - 8, DSIZE);
	uint8_t buf[2048];
	uint32_t sent = 0, got = 0, i;

	(void)state;
	while (got < 5000) {
		uint32_t len = (sent * 37) % 1000;

		if (sent < 5000 && put_pkt(f->w, len, (uint8_t)sent, sent + 1) == 0) {
			sent++;
			continue;
		}
		vmbus_ring_write_commit(f->w);
		for (;;) {
			struct vmbus_pkt_desc d;
			uint32_t want = (got * 37) % 1000;
			int n = get_pkt(f->r, buf, sizeof(buf));

			if (n == -EAGAIN)
				break;
			assert_int_equal(n, (int)((16 + want + 7) & ~7u));
			memcpy(&d, buf, sizeof(d));
			assert_true(d.trans_id == got + 1);
			for (i = 0; i < want; i++)
				assert_int_equal(buf[16 + i], (uint8_t)got);
			got++;
		}
		vmbus_ring_read_commit(f->r);
	}
	free_ring(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_and_trailer),
		cmocka_unit_test(test_second_record_trailer),
		cmocka_unit_test(test_strict_space_rule),
		cmocka_unit_test(test_has_room),
		cmocka_unit_test(test_peek_next),
		cmocka_unit_test(test_exactly_empty),
		cmocka_unit_test(test_wrap_every_position),
		cmocka_unit_test(test_batch_one_publish),
		cmocka_unit_test(test_abort_drops_queued),
		cmocka_unit_test(test_message_size),
		cmocka_unit_test(test_writer_signal_table),
		cmocka_unit_test(test_writer_no_signal_when_reader_behind),
		cmocka_unit_test(test_reader_signal_table),
		cmocka_unit_test(test_writer_wait),
		cmocka_unit_test(test_writer_wait_counts_queued),
		cmocka_unit_test(test_arm),
		cmocka_unit_test(test_corrupt_write_index),
		cmocka_unit_test(test_corrupt_read_index),
		cmocka_unit_test(test_corrupt_descriptors),
		cmocka_unit_test(test_descriptor_boundaries_accepted),
		cmocka_unit_test(test_small_buffer),
		cmocka_unit_test(test_attach_rejects),
		cmocka_unit_test(test_stream_varied_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
