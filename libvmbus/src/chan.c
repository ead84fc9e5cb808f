/* SPDX-License-Identifier: MIT */
/*
 * Channels: packet framing on top of a pair of rings, receive-side
 * validation of the type-specific headers, signalling and statistics.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "opts.h"

#define DESC_SIZE ((uint32_t)sizeof(struct vmbus_pkt_desc))
/* Largest type-specific header we build (GPA or transfer-page ranges). */
#define HDR_SCRATCH 8192u
#define MAX_IOV 64u
/* Transaction ids at and above this are reserved sentinels. */
#define TID_RESERVED (UINT64_MAX - 3u)

OPTS_CHECK_IN(vmbus_chan_attach_opts);
OPTS_CHECK_OUT(vmbus_chan_stats);

struct chan_hdr_scratch {
	uint64_t words[HDR_SCRATCH / 8];
};

int vmbus_chan_create(struct vmbus_chan **out, void *tx, size_t tx_size, void *rx, size_t rx_size,
		      size_t hdr_size)
{
	struct vmbus_chan *c;
	uint32_t max;
	int err;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->irq_fd = -1;
	c->monitor_id = VMBUS_MONITOR_ID_NONE;
	c->next_tid = 1;
	err = vmbus_ring_attach(tx, tx_size, hdr_size, &c->tx);
	if (err)
		goto fail;
	err = vmbus_ring_attach(rx, rx_size, hdr_size, &c->rx);
	if (err)
		goto fail;
	/* peek buffer: the largest packet the incoming ring can hold */
	max = vmbus_ring_max_packet(c->rx);
	c->pkt_buf = malloc(max);
	if (!c->pkt_buf) {
		err = -ENOMEM;
		goto fail;
	}
	c->pkt_buf_size = max;
	*out = c;
	return 0;
fail:
	vmbus_chan_free(c);
	return err;
}

void vmbus_chan_free(struct vmbus_chan *c)
{
	if (!c)
		return;
	if (c->irq_fd >= 0)
		vmbus_dev_close_fd(c->dev, c->irq_fd);
	vmbus_ring_detach(c->tx);
	vmbus_ring_detach(c->rx);
	free(c->pkt_buf);
	free(c);
}

VMBUS_API int vmbus_chan_attach(const struct vmbus_chan_attach_opts *opts, struct vmbus_chan **out)
{
	struct vmbus_chan *c;
	const char *why;
	int err;

	if (!out)
		return -EINVAL;
	*out = NULL;
	err = OPTS_VALID(opts, vmbus_chan_attach_opts, &why);
	if (err)
		return err;
	err = vmbus_chan_create(&c, OPTS_GET(opts, tx, NULL), OPTS_GET(opts, tx_size, 0),
				OPTS_GET(opts, rx, NULL), OPTS_GET(opts, rx_size, 0),
				OPTS_GET(opts, hdr_size, 0));
	if (err)
		return err;
	c->relid = OPTS_GET(opts, relid, 0);
	c->xfer_limit = OPTS_GET(opts, xfer_limit, 0);
	c->signal = OPTS_GET(opts, signal, NULL);
	c->signal_arg = OPTS_GET(opts, signal_arg, NULL);
	*out = c;
	return 0;
}

VMBUS_API void vmbus_chan_detach(struct vmbus_chan *chan)
{
	if (chan && !chan->dev)
		vmbus_chan_free(chan);
}

VMBUS_API uint32_t vmbus_chan_relid(const struct vmbus_chan *chan)
{
	return chan->relid;
}

VMBUS_API uint16_t vmbus_chan_subchan_id(const struct vmbus_chan *chan)
{
	return chan->subchan_id;
}

VMBUS_API uint8_t vmbus_chan_monitor_id(const struct vmbus_chan *chan)
{
	return chan->monitor_id;
}

VMBUS_API struct vmbus_device *vmbus_chan_device(const struct vmbus_chan *chan)
{
	return chan->dev;
}

VMBUS_API struct vmbus_ring *vmbus_chan_tx_ring(struct vmbus_chan *chan)
{
	return chan->tx;
}

VMBUS_API struct vmbus_ring *vmbus_chan_rx_ring(struct vmbus_chan *chan)
{
	return chan->rx;
}

VMBUS_API const char *vmbus_chan_broken(const struct vmbus_chan *chan)
{
	if (chan->broken)
		return chan->broken;
	if (vmbus_ring_broken(chan->tx))
		return vmbus_ring_broken(chan->tx);
	return vmbus_ring_broken(chan->rx);
}

VMBUS_API uint64_t vmbus_chan_next_tid(struct vmbus_chan *chan)
{
	uint64_t tid = chan->next_tid++;

	if (chan->next_tid >= TID_RESERVED)
		chan->next_tid = 1;
	return tid;
}

VMBUS_API int vmbus_chan_stats(const struct vmbus_chan *chan, struct vmbus_chan_stats *out)
{
	return OPTS_FILL(out, &chan->stats, vmbus_chan_stats);
}

/* Common entry check: rescinded device first, then corruption. */
static int chan_usable(const struct vmbus_chan *c)
{
	if (c->dev && vmbus_dev_is_gone(c->dev))
		return -ENODEV;
	if (vmbus_chan_broken(c))
		return -EPROTO;
	return 0;
}

static void chan_note_error(struct vmbus_chan *c, int err)
{
	if (err == -EPROTO)
		c->stats.rx_errors++;
}

VMBUS_API int vmbus_chan_signal(struct vmbus_chan *chan)
{
	int err = chan_usable(chan);

	if (err)
		return err;
	if (!chan->signal)
		return 0;
	err = chan->signal(chan, chan->signal_arg);
	if (err == 0)
		chan->stats.tx_signals++;
	return err;
}

VMBUS_API int vmbus_chan_flush(struct vmbus_chan *chan)
{
	int ret = chan_usable(chan);

	if (ret)
		return ret;
	ret = vmbus_ring_write_commit(chan->tx);
	if (ret <= 0)
		return ret;
	return vmbus_chan_signal(chan);
}

/*
 * Queues one packet: @hdr (@hdr_len bytes, a multiple of 8, starting with
 * the descriptor, which is filled in here) followed by the payload.
 */
static int chan_put(struct vmbus_chan *c, void *hdr, uint32_t hdr_len, uint16_t type,
		    unsigned int flags, uint64_t tid, const struct iovec *iov, unsigned int iovcnt,
		    bool any_tid)
{
	struct iovec v[MAX_IOV + 1];
	struct vmbus_pkt_desc *d = hdr;
	uint64_t payload = 0, total;
	unsigned int i;
	int err;

	err = chan_usable(c);
	if (err)
		return err;
	if (iovcnt > MAX_IOV || (iovcnt && !iov))
		return -EINVAL;
	if (flags & ~(VMBUS_SEND_COMPLETION | VMBUS_SEND_MORE))
		return -EINVAL;
	if ((flags & VMBUS_SEND_COMPLETION) && tid == 0 && !any_tid)
		return -EINVAL;
	for (i = 0; i < iovcnt; i++)
		payload += iov[i].iov_len;
	total = ALIGN8((uint64_t)hdr_len + payload);
	/* (the ring's limit is also the most len8's 16 bits can describe) */
	if (total > vmbus_ring_max_packet(c->tx))
		return -EMSGSIZE;

	{
		/* two whole-word stores, which the ring's copy takes at once
		 * (the fields in little-endian order, as on the wire) */
		uint64_t w0 = (uint64_t)type | (uint64_t)(hdr_len / 8) << 16 |
			      (uint64_t)(total / 8) << 32 |
			      (uint64_t)(flags & VMBUS_SEND_COMPLETION) << 48;

		memcpy(d, &w0, sizeof(w0));
		memcpy(&d->trans_id, &tid, sizeof(tid));
	}

	v[0].iov_base = hdr;
	v[0].iov_len = hdr_len;
	for (i = 0; i < iovcnt; i++)
		v[i + 1] = iov[i];
	err = vmbus_ring_write(c->tx, v, iovcnt + 1);
	if (err) {
		if (err == -EAGAIN)
			c->stats.tx_ring_full++;
		/* what was queued before this packet is not held back */
		if (!(flags & VMBUS_SEND_MORE))
			vmbus_chan_flush(c);
		return err;
	}
	c->stats.tx_packets++;
	c->stats.tx_bytes += payload;
	if (flags & VMBUS_SEND_MORE)
		return 0;
	return vmbus_chan_flush(c);
}

VMBUS_API int vmbus_chan_send_type(struct vmbus_chan *chan, uint16_t type, unsigned int flags,
				   uint64_t tid, const struct iovec *iov, unsigned int iovcnt)
{
	struct vmbus_pkt_desc d;

	return chan_put(chan, &d, DESC_SIZE, type, flags, tid, iov, iovcnt, false);
}

VMBUS_API int vmbus_chan_sendv(struct vmbus_chan *chan, unsigned int flags, uint64_t tid,
			       const struct iovec *iov, unsigned int iovcnt)
{
	return vmbus_chan_send_type(chan, VMBUS_PKT_DATA_INBAND, flags, tid, iov, iovcnt);
}

VMBUS_API int vmbus_chan_send(struct vmbus_chan *chan, unsigned int flags, uint64_t tid,
			      const void *data, size_t len)
{
	struct iovec v = { .iov_base = (void *)data, .iov_len = len };

	return vmbus_chan_sendv(chan, flags, tid, &v, len ? 1 : 0);
}

VMBUS_API int vmbus_chan_send_completion(struct vmbus_chan *chan, unsigned int flags, uint64_t tid,
					 const void *data, size_t len)
{
	struct iovec v = { .iov_base = (void *)data, .iov_len = len };

	/* a completion never asks for a completion itself */
	if (flags & VMBUS_SEND_COMPLETION)
		return -EINVAL;
	return vmbus_chan_send_type(chan, VMBUS_PKT_COMPLETION, flags, tid, &v, len ? 1 : 0);
}

static uint64_t gpa_pages(uint32_t offset, uint32_t len)
{
	return ((uint64_t)offset + len + VMBUS_HV_PAGE_SIZE - 1) >> VMBUS_HV_PAGE_SHIFT;
}

VMBUS_API int vmbus_chan_send_gpa(struct vmbus_chan *chan, unsigned int flags, uint64_t tid,
				  const struct vmbus_gpa_buf *bufs, unsigned int nbufs,
				  const struct iovec *iov, unsigned int iovcnt)
{
	struct chan_hdr_scratch s;
	struct vmbus_gpa_hdr *h = (struct vmbus_gpa_hdr *)s.words;
	uint8_t *p = (uint8_t *)(h + 1);
	uint64_t len = sizeof(*h), n;
	unsigned int i;

	if (nbufs == 0 || !bufs)
		return -EINVAL;
	for (i = 0; i < nbufs; i++) {
		if (bufs[i].len == 0 || bufs[i].offset >= VMBUS_HV_PAGE_SIZE || !bufs[i].pfn)
			return -EINVAL;
		len += sizeof(struct vmbus_gpa_range) + 8 * gpa_pages(bufs[i].offset, bufs[i].len);
		if (len > HDR_SCRATCH)
			return -EMSGSIZE;
	}
	h->reserved = 0;
	h->range_cnt = nbufs;
	for (i = 0; i < nbufs; i++) {
		struct vmbus_gpa_range r = { .byte_count = bufs[i].len,
					     .byte_offset = bufs[i].offset };

		n = gpa_pages(bufs[i].offset, bufs[i].len);
		memcpy(p, &r, sizeof(r));
		p += sizeof(r);
		memcpy(p, bufs[i].pfn, n * 8);
		p += n * 8;
	}
	return chan_put(chan, h, (uint32_t)len, VMBUS_PKT_DATA_GPA_DIRECT, flags, tid, iov, iovcnt,
			false);
}

VMBUS_API int vmbus_chan_send_xfer(struct vmbus_chan *chan, unsigned int flags, uint64_t tid,
				   uint16_t pageset_id, const struct vmbus_xfer_range *ranges,
				   unsigned int nranges, const struct iovec *iov,
				   unsigned int iovcnt)
{
	struct chan_hdr_scratch s;
	struct vmbus_xfer_page_hdr *h = (struct vmbus_xfer_page_hdr *)s.words;
	uint64_t len = sizeof(*h) + (uint64_t)nranges * sizeof(*ranges);

	if (nranges && !ranges)
		return -EINVAL;
	if (len > HDR_SCRATCH)
		return -EMSGSIZE;
	h->xfer_pageset_id = pageset_id;
	h->sender_owns_set = 0;
	h->reserved = 0;
	h->range_cnt = nranges;
	if (nranges)
		memcpy(h + 1, ranges, nranges * sizeof(*ranges));
	/* the sender numbers these itself (netvsp: receive slots, 0 included) */
	return chan_put(chan, h, (uint32_t)ALIGN8(len), VMBUS_PKT_DATA_XFER_PAGES, flags, tid, iov,
			iovcnt, true);
}

/* ------------------------------------------------------------------------ */
/* receive                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Checks the type-specific header of a packet already copied out of the
 * ring (so nothing here can change under us) and fills @pkt.
 * Returns 0, or -EBADMSG for a malformed header: the packet is still
 * described (type, flags, tid, raw) so the caller can complete it.
 */
static int chan_parse(const struct vmbus_chan *c, const uint8_t *buf, uint32_t plen,
		      struct vmbus_pkt *pkt)
{
	const struct vmbus_pkt_desc *d = (const void *)buf;
	uint32_t hlen = d->offset8 * 8u, i;

	memset(pkt, 0, sizeof(*pkt));
	pkt->type = d->type;
	pkt->flags = d->flags;
	pkt->tid = d->trans_id;
	pkt->raw = buf;
	pkt->raw_len = plen;
	pkt->data = buf + hlen;
	pkt->len = plen - hlen;

	if (d->type == VMBUS_PKT_DATA_XFER_PAGES) {
		const struct vmbus_xfer_page_hdr *h = (const void *)buf;
		const struct vmbus_xfer_range *r = (const void *)(h + 1);
		uint32_t cnt = h->range_cnt;

		if (hlen < sizeof(*h))
			return -EBADMSG;
		/* the range array must lie inside the header the host declared */
		if (cnt > (hlen - sizeof(*h)) / sizeof(*r))
			return -EBADMSG;
		for (i = 0; i < cnt; i++) {
			if (r[i].byte_offset > c->xfer_limit ||
			    r[i].byte_count > c->xfer_limit - r[i].byte_offset)
				return -EBADMSG;
		}
		pkt->xfer_pageset_id = h->xfer_pageset_id;
		pkt->xfer_range_cnt = cnt;
		pkt->xfer_ranges = r;
	} else if (d->type == VMBUS_PKT_DATA_GPA_DIRECT) {
		const struct vmbus_gpa_hdr *h = (const void *)buf;
		const uint8_t *p = (const uint8_t *)(h + 1), *end = buf + hlen;
		uint32_t cnt = h->range_cnt;

		if (hlen < sizeof(*h) || cnt == 0)
			return -EBADMSG;
		for (i = 0; i < cnt; i++) {
			struct vmbus_gpa_range r;
			uint64_t need;

			if ((size_t)(end - p) < sizeof(r))
				return -EBADMSG;
			memcpy(&r, p, sizeof(r));
			if (r.byte_count == 0 || r.byte_offset >= VMBUS_HV_PAGE_SIZE)
				return -EBADMSG;
			need = sizeof(r) + 8 * gpa_pages(r.byte_offset, r.byte_count);
			if (need > (uint64_t)(end - p))
				return -EBADMSG;
			p += need;
		}
		pkt->gpa_range_cnt = cnt;
		pkt->gpa_ranges = h + 1;
	}
	return 0;
}

VMBUS_API void vmbus_gpa_iter_init(struct vmbus_gpa_iter *it, const struct vmbus_pkt *pkt)
{
	it->pos = pkt->gpa_ranges;
	it->end = (const uint8_t *)pkt->data;
	it->left = pkt->gpa_range_cnt;
}

VMBUS_API int vmbus_gpa_iter_next(struct vmbus_gpa_iter *it, struct vmbus_gpa_buf *out)
{
	struct vmbus_gpa_range r;
	uint64_t n;

	if (it->left == 0 || (size_t)(it->end - it->pos) < sizeof(r))
		return 0;
	memcpy(&r, it->pos, sizeof(r));
	n = gpa_pages(r.byte_offset, r.byte_count);
	if (sizeof(r) + 8 * n > (uint64_t)(it->end - it->pos))
		return 0;
	out->len = r.byte_count;
	out->offset = r.byte_offset;
	out->pfn = (const uint64_t *)(const void *)(it->pos + sizeof(r));
	it->pos += sizeof(r) + 8 * n;
	it->left--;
	return 1;
}

static int chan_rx_error(struct vmbus_chan *c, int err)
{
	chan_note_error(c, err);
	return err;
}

VMBUS_API int vmbus_chan_peek(struct vmbus_chan *chan, struct vmbus_pkt *pkt)
{
	int ret = chan_usable(chan), perr;

	if (ret)
		return ret;
	ret = vmbus_ring_peek(chan->rx, chan->pkt_buf, chan->pkt_buf_size, NULL);
	if (ret == -EAGAIN) {
		/* nothing left: hand the consumed space back now */
		int sig = vmbus_chan_recv_commit(chan);

		return sig < 0 ? sig : -EAGAIN;
	}
	if (ret < 0)
		return chan_rx_error(chan, ret);
	chan->peeked = true;
	perr = chan_parse(chan, chan->pkt_buf, (uint32_t)ret, pkt);
	chan->peek_bytes = pkt->len;
	if (perr) {
		chan->stats.rx_errors++;
		return perr;
	}
	return (int)pkt->len;
}

VMBUS_API int vmbus_chan_consume(struct vmbus_chan *chan)
{
	int err = chan_usable(chan);

	if (err)
		return err;
	if (!chan->peeked)
		return -EINVAL;
	err = vmbus_ring_consume(chan->rx);
	if (err)
		return err;
	chan->peeked = false;
	chan->stats.rx_packets++;
	chan->stats.rx_bytes += chan->peek_bytes;
	return 0;
}

VMBUS_API int vmbus_chan_recv_commit(struct vmbus_chan *chan)
{
	int ret = chan_usable(chan);

	if (ret)
		return ret;
	ret = vmbus_ring_read_commit(chan->rx);
	if (ret < 0)
		return chan_rx_error(chan, ret);
	if (ret == 1) {
		chan->stats.rx_signals++;
		ret = chan->signal ? chan->signal(chan, chan->signal_arg) : 0;
	}
	return ret;
}

VMBUS_API int vmbus_chan_recv(struct vmbus_chan *chan, void *buf, size_t buflen,
			      struct vmbus_pkt *pkt)
{
	uint32_t need = 0;
	int ret = chan_usable(chan), perr, cerr;

	if (ret)
		return ret;
	/* the packet is parsed in place: its headers need their alignment */
	if ((uintptr_t)buf % 8)
		return -EINVAL;
	ret = vmbus_ring_peek(chan->rx, buf, buflen, &need);
	if (ret == -ENOBUFS) {
		memset(pkt, 0, sizeof(*pkt));
		pkt->raw_len = need;
		return ret;
	}
	if (ret == -EAGAIN)
		return ret;
	if (ret < 0)
		return chan_rx_error(chan, ret);
	chan->peeked = true;
	perr = chan_parse(chan, buf, (uint32_t)ret, pkt);
	chan->peek_bytes = pkt->len;
	cerr = vmbus_chan_consume(chan);
	if (cerr)
		return cerr;
	cerr = vmbus_chan_recv_commit(chan);
	if (cerr < 0)
		return cerr;
	if (perr) {
		chan->stats.rx_errors++;
		return perr;
	}
	return (int)pkt->len;
}

VMBUS_API int vmbus_chan_rx_empty(struct vmbus_chan *chan)
{
	int64_t n;
	int err = chan_usable(chan);

	if (err)
		return err;
	n = vmbus_ring_readable(chan->rx);
	if (n < 0)
		return chan_rx_error(chan, (int)n);
	return n == 0;
}

VMBUS_API void vmbus_chan_mask(struct vmbus_chan *chan)
{
	vmbus_ring_disarm(chan->rx);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

VMBUS_API int vmbus_chan_wait(struct vmbus_chan *chan, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? 0 : now_ms() + timeout_ms;
	int ret, left = timeout_ms;

	/* listening before arming: an interrupt between the two is not lost */
	if (chan->dev) {
		ret = vmbus_dev_chan_listen(chan->dev, chan);
		if (ret)
			return ret;
	}
	for (;;) {
		ret = vmbus_chan_recv_commit(chan);
		if (ret < 0)
			return ret;
		/* clear the mask, full barrier, look again */
		ret = vmbus_ring_arm(chan->rx);
		if (ret < 0)
			return chan_rx_error(chan, ret);
		if (ret > 0)
			return 0;
		if (!chan->dev)
			return -ENOTSUP;
		if (timeout_ms >= 0) {
			int64_t rem = deadline - now_ms();

			left = rem > 0 ? (int)rem : 0;
		}
		/* any channel's interrupt wakes us; the loop looks again */
		ret = vmbus_dev_chan_wait(chan->dev, chan, left);
		if (ret < 0)
			return ret;
		chan->stats.wakeups++;
	}
}

VMBUS_API int vmbus_chan_fd(struct vmbus_chan *chan)
{
	int ret;

	if (!chan->dev)
		return -ENOTSUP;
	ret = vmbus_dev_chan_listen(chan->dev, chan);
	return ret ? ret : chan->irq_fd;
}

static void dump_ring(FILE *f, const char *name, struct vmbus_ring *r)
{
	struct vmbus_ring_hdr *h = vmbus_ring_hdr(r);
	uint32_t w = ring_load_acquire(&h->write_index), rd = ring_load_acquire(&h->read_index);

	fprintf(f,
		"  %s: size %" PRIu32 " write_index %" PRIu32 " read_index %" PRIu32
		" interrupt_mask %" PRIu32 " pending_send_sz %" PRIu32 " feature_bits 0x%" PRIx32
		"%s%s\n",
		name, r->dsize, w, rd, ring_load_relaxed(&h->interrupt_mask),
		ring_load_relaxed(&h->pending_send_sz), ring_load_relaxed(&h->feature_bits),
		r->broken ? " BROKEN: " : "", r->broken ? r->broken : "");
	if (w < r->dsize && rd < r->dsize && w != rd && !(rd & 7)) {
		struct vmbus_pkt_desc d;
		uint32_t first = r->dsize - rd;

		if (first >= sizeof(d)) {
			memcpy(&d, r->data + rd, sizeof(d));
		} else {
			memcpy(&d, r->data + rd, first);
			memcpy((uint8_t *)&d + first, r->data, sizeof(d) - first);
		}
		fprintf(f,
			"    next packet: type %u offset8 %u len8 %u flags 0x%x trans_id %" PRIu64
			"\n",
			d.type, d.offset8, d.len8, d.flags, d.trans_id);
	}
}

VMBUS_API void vmbus_chan_dump(FILE *f, struct vmbus_chan *chan)
{
	const char *why = vmbus_chan_broken(chan);

	fprintf(f, "channel relid %" PRIu32 " subchannel %u monitor %s%u%s\n", chan->relid,
		chan->subchan_id, chan->monitor_id == VMBUS_MONITOR_ID_NONE ? "none (" : "",
		chan->monitor_id, chan->monitor_id == VMBUS_MONITOR_ID_NONE ? ")" : "");
	if (why)
		fprintf(f, "  broken: %s\n", why);
	dump_ring(f, "tx (guest to host)", chan->tx);
	dump_ring(f, "rx (host to guest)", chan->rx);
}
