/* SPDX-License-Identifier: MIT */
/*
 * VMBus ring buffer: one direction, used as writer or as reader.
 *
 * Rules (the Hyper-V ring protocol, as Linux drivers/hv/ring_buffer.c and
 * the hosts implement it):
 *   - indices are byte offsets into the data area, 8-aligned, < data size;
 *   - empty <=> write_index == read_index; the ring never becomes
 *     completely full: a record of T bytes needs more than T bytes free;
 *   - a record is the packet padded to 8 bytes plus an 8-byte trailer that
 *     holds the record's start index in its upper 32 bits;
 *   - the writer signals only when its mask bit is clear and the ring was
 *     empty before the batch; the reader signals only when the space it
 *     freed crosses the writer's pending_send_sz.
 *
 * The peer's index is cached: it is read again only when the cached value
 * says there is no room (writer) or nothing to read (reader), which keeps
 * the shared cache line from bouncing on every packet.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DESC_SIZE ((uint32_t)sizeof(struct vmbus_pkt_desc))
#define LEN8_MAX 0xffffu

static uint32_t ring_free_bytes(uint32_t w, uint32_t r, uint32_t dsize)
{
	return w >= r ? dsize - (w - r) : r - w;
}

static uint32_t ring_used_bytes(uint32_t w, uint32_t r, uint32_t dsize)
{
	return dsize - ring_free_bytes(w, r, dsize);
}

static uint32_t ring_advance(uint32_t pos, uint32_t n, uint32_t dsize)
{
	/* pos < dsize and n < dsize, so this cannot overflow 32 bits twice */
	uint64_t p = (uint64_t)pos + n;

	return (uint32_t)(p >= dsize ? p - dsize : p);
}

static bool index_valid(const struct vmbus_ring *r, uint32_t idx)
{
	return idx < r->dsize && (idx & (VMBUS_RING_ALIGN - 1)) == 0;
}

static int ring_break(struct vmbus_ring *r, const char *why)
{
	if (!r->broken)
		r->broken = why;
	return -EPROTO;
}

/* Copies @len bytes into the data area at @pos, in two pieces at the wrap. */
/*
 * Copies a small piece (a descriptor, a short message) that was just built
 * with narrow stores, in loads no wider than those stores.  A wide copy's
 * loads cannot take their bytes from several queued stores, so each waited
 * for every store before it to reach the cache, the writer's earlier
 * stores to shared memory included; 4-byte loads are forwarded at once.
 */
#define SMALL_COPY 64u
static void copy_small(uint8_t *dst, const uint8_t *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i += 4) {
		uint32_t w;

		memcpy(&w, src + i, 4);
		memcpy(dst + i, &w, 4);
		/* one word per turn: no vector copy */
		__asm__ volatile("" ::: "memory");
	}
}

static uint32_t copy_in(struct vmbus_ring *r, uint32_t pos, const void *src, uint32_t len)
{
	uint32_t first = r->dsize - pos;

	if (len < first) {
		memcpy(r->data + pos, src, len);
		return pos + len;
	}
	memcpy(r->data + pos, src, first);
	memcpy(r->data, (const uint8_t *)src + first, len - first);
	return len - first;
}

static void copy_out(const struct vmbus_ring *r, uint32_t pos, void *dst, uint32_t len)
{
	uint32_t first = r->dsize - pos;

	if (len <= first) {
		memcpy(dst, r->data + pos, len);
		return;
	}
	memcpy(dst, r->data + pos, first);
	memcpy((uint8_t *)dst + first, r->data, len - first);
}

VMBUS_API int vmbus_ring_attach(void *mem, size_t size, size_t hdr_size, struct vmbus_ring **out)
{
	struct vmbus_ring *r;
	uint32_t w, rd;

	*out = NULL;
	if (!mem || hdr_size < sizeof(struct vmbus_ring_hdr) || size <= hdr_size)
		return -EINVAL;
	if (size - hdr_size > UINT32_MAX || ((size - hdr_size) & (VMBUS_RING_ALIGN - 1)) ||
	    size - hdr_size < 2 * VMBUS_RING_ALIGN + VMBUS_RING_TRAILER_SIZE)
		return -EINVAL;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->hdr = mem;
	r->data = (uint8_t *)mem + hdr_size;
	r->dsize = (uint32_t)(size - hdr_size);
	/* record = packet + trailer, and strictly less than the data area */
	r->max_pkt = r->dsize - VMBUS_RING_TRAILER_SIZE - VMBUS_RING_ALIGN;
	if (r->max_pkt > LEN8_MAX * 8u)
		r->max_pkt = LEN8_MAX * 8u;

	w = ring_load_acquire(&r->hdr->write_index);
	rd = ring_load_acquire(&r->hdr->read_index);
	if (!index_valid(r, w) || !index_valid(r, rd)) {
		free(r);
		return -EPROTO;
	}
	r->wr_next = r->wr_pub = w;
	r->wr_seen_rd = rd;
	r->rd_next = r->rd_pub = rd;
	r->rd_seen_wr = w;
	*out = r;
	return 0;
}

VMBUS_API void vmbus_ring_detach(struct vmbus_ring *ring)
{
	free(ring);
}

VMBUS_API void vmbus_ring_hdr_init(struct vmbus_ring_hdr *hdr)
{
	ring_store_relaxed(&hdr->write_index, 0);
	ring_store_relaxed(&hdr->read_index, 0);
	ring_store_relaxed(&hdr->pending_send_sz, 0);
	ring_store_relaxed(&hdr->feature_bits, VMBUS_RING_FEAT_PENDING_SEND_SZ);
	ring_full_barrier();
}

VMBUS_API uint32_t vmbus_ring_data_size(const struct vmbus_ring *ring)
{
	return ring->dsize;
}

VMBUS_API struct vmbus_ring_hdr *vmbus_ring_hdr(struct vmbus_ring *ring)
{
	return ring->hdr;
}

VMBUS_API uint32_t vmbus_ring_max_packet(const struct vmbus_ring *ring)
{
	return ring->max_pkt;
}

VMBUS_API const char *vmbus_ring_broken(const struct vmbus_ring *ring)
{
	return ring->broken;
}

/* ------------------------------------------------------------------------ */
/* writer                                                                    */
/* ------------------------------------------------------------------------ */

/* Reads the reader's index afresh; the only place the writer trusts it. */
static int writer_refresh(struct vmbus_ring *r)
{
	uint32_t rd = ring_load_acquire(&r->hdr->read_index);

	if (!index_valid(r, rd))
		return ring_break(r, "read_index out of range or unaligned");
	r->wr_seen_rd = rd;
	return 0;
}

VMBUS_API int vmbus_ring_has_room(struct vmbus_ring *ring, uint32_t bytes)
{
	int err;

	if (ring->broken)
		return -EPROTO;
	if (ring_free_bytes(ring->wr_next, ring->wr_seen_rd, ring->dsize) > bytes)
		return 1;
	err = writer_refresh(ring);
	if (err)
		return err;
	return ring_free_bytes(ring->wr_next, ring->wr_seen_rd, ring->dsize) > bytes;
}

VMBUS_API int64_t vmbus_ring_writable(struct vmbus_ring *ring)
{
	int err;

	if (ring->broken)
		return -EPROTO;
	err = writer_refresh(ring);
	if (err)
		return err;
	return ring_free_bytes(ring->wr_next, ring->wr_seen_rd, ring->dsize);
}

VMBUS_API int vmbus_ring_write(struct vmbus_ring *ring, const struct iovec *iov, unsigned int iovcnt)
{
	uint64_t len = 0, trailer, tail[2];
	uint32_t record, padded, pos, start, tail_len;
	unsigned int i;
	int err;

	if (ring->broken)
		return -EPROTO;
	for (i = 0; i < iovcnt; i++) {
		len += iov[i].iov_len;
		if (len > UINT32_MAX)
			return -EMSGSIZE;
	}
	if (len == 0)
		return -EINVAL;
	if (len > ring->max_pkt)
		return -EMSGSIZE;
	padded = (uint32_t)ALIGN8(len);
	record = padded + VMBUS_RING_TRAILER_SIZE;

	/* strict rule: free space must exceed the record */
	if (ring_free_bytes(ring->wr_next, ring->wr_seen_rd, ring->dsize) <= record) {
		err = writer_refresh(ring);
		if (err)
			return err;
		if (ring_free_bytes(ring->wr_next, ring->wr_seen_rd, ring->dsize) <= record)
			return -EAGAIN;
	}

	start = pos = ring->wr_next;
	/* padding and trailer leave together: zeros, then the start index */
	tail[0] = 0;
	trailer = VMBUS_RING_TRAILER(start);
	memcpy((uint8_t *)tail + VMBUS_RING_ALIGN, &trailer, sizeof(trailer));
	tail_len = padded - (uint32_t)len + VMBUS_RING_TRAILER_SIZE;

	if (record <= ring->dsize - pos) {
		/* the common case: the record does not wrap */
		uint8_t *p = ring->data + pos;

		for (i = 0; i < iovcnt; i++) {
			size_t n = iov[i].iov_len;

			if (n <= SMALL_COPY && n % 4 == 0)
				copy_small(p, iov[i].iov_base, n);
			else
				memcpy(p, iov[i].iov_base, n);
			p += n;
		}
		memcpy(p, (uint8_t *)tail + sizeof(tail) - tail_len, tail_len);
		pos += record;
		if (pos == ring->dsize)
			pos = 0;
	} else {
		for (i = 0; i < iovcnt; i++)
			if (iov[i].iov_len)
				pos = copy_in(ring, pos, iov[i].iov_base, (uint32_t)iov[i].iov_len);
		pos = copy_in(ring, pos, (uint8_t *)tail + sizeof(tail) - tail_len, tail_len);
	}
	ring->wr_next = pos;
	return 0;
}

VMBUS_API void vmbus_ring_write_abort(struct vmbus_ring *ring)
{
	ring->wr_next = ring->wr_pub;
}

VMBUS_API int vmbus_ring_write_commit(struct vmbus_ring *ring)
{
	uint32_t old = ring->wr_pub;
	int err;

	if (ring->broken)
		return -EPROTO;
	if (ring->wr_next == old)
		return 0;

	/* the records are in place before the reader can see the index */
	ring_store_release(&ring->hdr->write_index, ring->wr_next);
	ring->wr_pub = ring->wr_next;

	/*
	 * Our index store must be visible before we look at the mask and the
	 * read index: pairs with the reader's "clear mask, full barrier,
	 * check write_index" in vmbus_ring_arm().
	 */
	ring_full_barrier();
	if (ring_load_acquire(&ring->hdr->interrupt_mask))
		return 0;
	err = writer_refresh(ring);
	if (err)
		return err;
	/* signal only on empty -> non-empty: the reader had caught up */
	return ring->wr_seen_rd == old;
}

VMBUS_API int vmbus_ring_write_wait(struct vmbus_ring *ring, uint32_t bytes)
{
	uint64_t want;
	int err;

	if (ring->broken)
		return -EPROTO;
	if (bytes == 0) {
		ring_store_relaxed(&ring->hdr->pending_send_sz, 0);
		return 1;
	}
	/*
	 * The reader measures free space against what is published; records
	 * queued but not yet published still take room it cannot see, so the
	 * request counts them too.
	 */
	want = (uint64_t)bytes +
	       ring_used_bytes(ring->wr_next, ring->wr_pub, ring->dsize);
	if (want >= ring->dsize)
		want = ring->dsize; /* can never be met: the reader signals at empty */
	ring_store_relaxed(&ring->hdr->pending_send_sz, (uint32_t)want);
	/* pending_send_sz visible before we read read_index again */
	ring_full_barrier();
	err = writer_refresh(ring);
	if (err)
		return err;
	if (ring_free_bytes(ring->wr_next, ring->wr_seen_rd, ring->dsize) > bytes) {
		ring_store_relaxed(&ring->hdr->pending_send_sz, 0);
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* reader                                                                    */
/* ------------------------------------------------------------------------ */

/* Reads the writer's index afresh; the only place the reader trusts it. */
static int reader_refresh(struct vmbus_ring *r)
{
	uint32_t w = ring_load_acquire(&r->hdr->write_index);

	if (!index_valid(r, w))
		return ring_break(r, "write_index out of range or unaligned");
	r->rd_seen_wr = w;
	return 0;
}

VMBUS_API int64_t vmbus_ring_readable(struct vmbus_ring *ring)
{
	int err;

	if (ring->broken)
		return -EPROTO;
	err = reader_refresh(ring);
	if (err)
		return err;
	return ring_used_bytes(ring->rd_seen_wr, ring->rd_next, ring->dsize);
}

VMBUS_API int vmbus_ring_peek(struct vmbus_ring *ring, void *buf, size_t buflen, uint32_t *need)
{
	struct vmbus_pkt_desc desc;
	uint32_t avail, len8, off8, plen;
	int err;

	if (ring->broken)
		return -EPROTO;
	avail = ring_used_bytes(ring->rd_seen_wr, ring->rd_next, ring->dsize);
	if (avail == 0) {
		err = reader_refresh(ring);
		if (err)
			return err;
		avail = ring_used_bytes(ring->rd_seen_wr, ring->rd_next, ring->dsize);
		if (avail == 0)
			return -EAGAIN;
	}
	/* writers publish whole records, so anything shorter is corrupt */
	if (avail < DESC_SIZE + VMBUS_RING_TRAILER_SIZE)
		return ring_break(ring, "fewer bytes available than a packet descriptor");

	/* one fetch of the descriptor; only the private copy is used after */
	copy_out(ring, ring->rd_next, &desc, DESC_SIZE);
	len8 = desc.len8;
	off8 = desc.offset8;
	if (off8 < VMBUS_PKT_MIN_OFFSET8)
		return ring_break(ring, "packet offset8 below 2");
	if (off8 > len8)
		return ring_break(ring, "packet offset8 beyond len8");
	plen = len8 * 8u;
	if ((uint64_t)plen + VMBUS_RING_TRAILER_SIZE > avail)
		return ring_break(ring, "packet longer than the bytes available");

	if (buflen < plen) {
		if (need)
			*need = plen;
		return -ENOBUFS;
	}
	if (plen <= ring->dsize - ring->rd_next) {
		/* one copy of the whole packet, then the checked descriptor over it */
		memcpy(buf, ring->data + ring->rd_next, plen);
	} else {
		copy_out(ring, ring_advance(ring->rd_next, DESC_SIZE, ring->dsize),
			 (uint8_t *)buf + DESC_SIZE, plen - DESC_SIZE);
	}
	memcpy(buf, &desc, DESC_SIZE);
	ring->peek_len = plen + VMBUS_RING_TRAILER_SIZE;
	return (int)plen;
}

VMBUS_API int vmbus_ring_peek_next(struct vmbus_ring *ring, void *buf, size_t len)
{
	struct vmbus_pkt_desc desc;
	uint32_t avail, pos, plen;

	if (ring->broken)
		return -EPROTO;
	if (!ring->peek_len)
		return -EINVAL;
	avail = ring_used_bytes(ring->rd_seen_wr, ring->rd_next, ring->dsize);
	if (avail < ring->peek_len + DESC_SIZE + VMBUS_RING_TRAILER_SIZE)
		return -EAGAIN;
	avail -= ring->peek_len;
	pos = ring_advance(ring->rd_next, ring->peek_len, ring->dsize);
	copy_out(ring, pos, &desc, DESC_SIZE);
	plen = (uint32_t)desc.len8 * 8u;
	if (plen < DESC_SIZE || plen + VMBUS_RING_TRAILER_SIZE > avail)
		return -EAGAIN;
	if (len > plen)
		len = plen;
	copy_out(ring, pos, buf, (uint32_t)len);
	return (int)len;
}

VMBUS_API int vmbus_ring_consume(struct vmbus_ring *ring)
{
	if (ring->broken)
		return -EPROTO;
	if (!ring->peek_len)
		return -EINVAL;
	ring->rd_next = ring_advance(ring->rd_next, ring->peek_len, ring->dsize);
	ring->peek_len = 0;
	return 0;
}

VMBUS_API int vmbus_ring_read_commit(struct vmbus_ring *ring)
{
	uint32_t old = ring->rd_pub, pending, freed, cur_free, prev_free;
	int err;

	if (ring->broken)
		return -EPROTO;
	if (ring->rd_next == old)
		return 0;

	/* our copies out of the data area are done before the space is reused */
	ring_store_release(&ring->hdr->read_index, ring->rd_next);
	ring->rd_pub = ring->rd_next;

	if (!(ring_load_relaxed(&ring->hdr->feature_bits) & VMBUS_RING_FEAT_PENDING_SEND_SZ))
		return 0;
	/* read_index visible before we read pending_send_sz (the writer sets
	 * pending_send_sz, full barrier, then reads read_index) */
	ring_full_barrier();
	pending = ring_load_acquire(&ring->hdr->pending_send_sz);
	if (pending == 0)
		return 0;
	err = reader_refresh(ring);
	if (err)
		return err;
	cur_free = ring_free_bytes(ring->rd_seen_wr, ring->rd_pub, ring->dsize);
	freed = ring->rd_pub >= old ? ring->rd_pub - old : ring->dsize - old + ring->rd_pub;
	prev_free = cur_free > freed ? cur_free - freed : 0;
	/* signal on the transition from "not enough" to "enough" only */
	return prev_free <= pending && cur_free > pending;
}

VMBUS_API int vmbus_ring_arm(struct vmbus_ring *ring)
{
	int err;

	if (ring->broken)
		return -EPROTO;
	ring_store_relaxed(&ring->hdr->interrupt_mask, 0);
	/* mask store visible before we look at write_index again; pairs with
	 * the writer's full barrier in vmbus_ring_write_commit() */
	ring_full_barrier();
	err = reader_refresh(ring);
	if (err)
		return err;
	return ring->rd_seen_wr != ring->rd_next;
}

VMBUS_API void vmbus_ring_disarm(struct vmbus_ring *ring)
{
	ring_store_relaxed(&ring->hdr->interrupt_mask, 1);
}
