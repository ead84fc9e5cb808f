/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: one packet from the host, descriptor included, as a
 * channel receives it.  The input goes into the incoming ring as one
 * record, whatever its descriptor claims (type, offset8, len8, flags), and
 * the channel takes it with vmbus_chan_peek and again, from a fresh copy,
 * with vmbus_chan_recv into the caller's buffer: the descriptor checks,
 * then the type-specific headers (transfer-page ranges against the
 * channel's limit, GPA-direct ranges and their page arrays) and the GPA
 * iterator.
 *
 * The first input byte picks the transfer-page limit (the receive buffer
 * the ranges must lie in); the rest is the packet.
 *
 * Properties: only the documented results; a packet described on success
 * or -EBADMSG points into the private copy, never past it; its payload is
 * len8 * 8 - offset8 * 8 bytes; every range returned lies in the limit;
 * the GPA iterator yields exactly gpa_range_cnt ranges, each with its page
 * numbers inside the header; a corrupt descriptor breaks the channel
 * (-EPROTO from then on).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vmbus/vmbus.h>

#include "fuzz.h"

#define HDR 4096u
#define DATA (64u * 1024u)

static const uint64_t limits[] = { 0, 4096, 1u << 20, 31u << 20, UINT32_MAX, UINT64_MAX };

struct pair {
	uint8_t *g2h, *h2g; /* ring memory, each HDR + DATA */
	struct vmbus_chan *guest, *host;
};

static void pair_make(struct pair *p, uint64_t xfer_limit)
{
	p->g2h = calloc(1, HDR + DATA);
	p->h2g = calloc(1, HDR + DATA);
	CHECK(p->g2h && p->h2g);
	fuzz_chan_pair(p->g2h, p->h2g, HDR + DATA, HDR, xfer_limit, &p->guest, &p->host);
}

static void pair_free(struct pair *p)
{
	vmbus_chan_detach(p->guest);
	vmbus_chan_detach(p->host);
	free(p->g2h);
	free(p->h2g);
}

/* What a described packet must satisfy, wherever it was parsed. */
static void check_pkt(const struct vmbus_pkt *pkt, const uint8_t *copy, size_t copylen,
		      uint64_t limit)
{
	const uint8_t *raw = pkt->raw, *data = pkt->data;
	struct vmbus_gpa_iter it;
	struct vmbus_gpa_buf b;
	uint32_t i, n = 0;

	CHECK(raw == copy && pkt->raw_len <= copylen && pkt->raw_len % 8 == 0);
	CHECK(data >= raw + 16 && data <= raw + pkt->raw_len);
	CHECK((size_t)(data - raw) + pkt->len == pkt->raw_len);
	if (pkt->type != VMBUS_PKT_DATA_XFER_PAGES)
		CHECK(pkt->xfer_range_cnt == 0 && !pkt->xfer_ranges);
	for (i = 0; i < pkt->xfer_range_cnt; i++) {
		const struct vmbus_xfer_range *r = &pkt->xfer_ranges[i];

		CHECK((const uint8_t *)(r + 1) <= data);
		CHECK((uint64_t)r->byte_offset + r->byte_count <= limit);
	}
	if (pkt->type != VMBUS_PKT_DATA_GPA_DIRECT) {
		CHECK(pkt->gpa_range_cnt == 0);
		return;
	}
	vmbus_gpa_iter_init(&it, pkt);
	while (vmbus_gpa_iter_next(&it, &b)) {
		uint64_t pages = ((uint64_t)b.offset + b.len + 4095) / 4096;

		CHECK(b.len && b.offset < 4096);
		CHECK((const uint8_t *)b.pfn > raw &&
		      (const uint8_t *)(b.pfn + pages) <= data);
		n++;
	}
	CHECK(n == pkt->gpa_range_cnt);
}

/* Puts the input in the host-to-guest ring as one record. */
static int put(struct pair *p, const uint8_t *pkt, size_t len)
{
	struct iovec iov = { (void *)pkt, len };
	int rc;

	rc = vmbus_ring_write(vmbus_chan_tx_ring(p->host), &iov, 1);
	if (rc)
		return rc;
	rc = vmbus_ring_write_commit(vmbus_chan_tx_ring(p->host));
	CHECK(rc == 0 || rc == 1);
	return 0;
}

/*
 * Takes the packet; @whole: its descriptor claims the whole record, so the
 * ring is empty after it (a shorter claim leaves the rest of the record,
 * read as what follows).
 */
static void take(struct pair *p, bool peek, uint64_t limit, bool whole)
{
	_Alignas(8) static uint8_t buf[DATA];
	struct vmbus_pkt pkt;
	int rc;

	if (peek) {
		rc = vmbus_chan_peek(p->guest, &pkt);
	} else {
		rc = vmbus_chan_recv(p->guest, buf, sizeof(buf), &pkt);
	}
	CHECK(rc >= 0 || rc == -EBADMSG || rc == -EPROTO);
	if (rc == -EPROTO) {
		CHECK(vmbus_chan_broken(p->guest) != NULL);
		CHECK(vmbus_chan_peek(p->guest, &pkt) == -EPROTO);
		CHECK(vmbus_chan_recv(p->guest, buf, sizeof(buf), &pkt) == -EPROTO);
		return;
	}
	if (rc >= 0)
		CHECK((uint32_t)rc == pkt.len);
	if (peek) {
		/* described even when malformed, so the caller can complete it */
		check_pkt(&pkt, pkt.raw, pkt.raw_len, limit);
		CHECK(vmbus_chan_consume(p->guest) == 0);
		CHECK(vmbus_chan_consume(p->guest) == -EINVAL);
	} else {
		check_pkt(&pkt, buf, sizeof(buf), limit);
	}
	rc = vmbus_chan_peek(p->guest, &pkt);
	CHECK(whole ? rc == -EAGAIN : rc >= 0 || rc == -EAGAIN || rc == -EBADMSG || rc == -EPROTO);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmbus_pkt_desc d;
	struct pair p;
	uint64_t limit;
	bool whole;

	if (size < 1 + 16 || size > DATA / 2)
		return 0;
	limit = limits[data[0] % (sizeof(limits) / sizeof(limits[0]))];
	data++;
	size--;
	memcpy(&d, data, sizeof(d));
	whole = (size_t)d.len8 * 8 == ((size + 7) & ~(size_t)7);
	pair_make(&p, limit);
	if (put(&p, data, size) == 0)
		take(&p, true, limit, whole);
	pair_free(&p);

	pair_make(&p, limit);
	if (put(&p, data, size) == 0)
		take(&p, false, limit, whole);
	pair_free(&p);
	return 0;
}
