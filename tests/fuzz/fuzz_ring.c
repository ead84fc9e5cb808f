/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: one ring direction with any header and data area.
 * The input is a 72-byte header (the fields up to feature_bits and some
 * reserved space) and the data area, in an exact-size heap block, so any
 * read outside it is an ASan report.  Two readers look at it:
 *
 *   vmbus_ring_inspect (vmbus-ls, vmbus-ring): only 0, -EPROTO or -EINVAL;
 *   nothing is written to the ring; on 0 the fill levels add up to the
 *   data area and a packet shown fits in what was written; an older,
 *   smaller output struct gets only its fields.
 *
 *   the ring reader of every channel (vmbus_ring_attach, _peek, _consume,
 *   _read_commit, _arm) and, on another copy, the writer: indices out of
 *   range are -EPROTO at attach; each packet returned is whole (len8 * 8
 *   bytes, offset8 in 2..len8, inside the data area less the trailer); a
 *   corrupt ring is -EPROTO with a reason, and stays so; nothing is read
 *   or written outside the block.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vmbus/vmbus.h>

#include "fuzz.h"

#define HDR 72u
/* Packets read per input, at most: a data area of 1 MiB holds fewer. */
#define MAX_READS 200000u

/* The reader over a copy of the input. */
static void reader(const uint8_t *data, size_t size)
{
	struct vmbus_ring *r;
	uint8_t *mem, *buf;
	size_t dsize;
	uint32_t bufsz = 64, need, reads = 0;
	int rc;

	if (size < HDR + 24)
		return;
	/* the data area of an attached ring is a multiple of 8 */
	dsize = (size - HDR) & ~(size_t)7;
	mem = malloc(HDR + dsize);
	buf = malloc(64);
	CHECK(mem && buf);
	memcpy(mem, data, HDR + dsize);
	rc = vmbus_ring_attach(mem, HDR + dsize, HDR, &r);
	if (rc) {
		const struct vmbus_ring_hdr *h = (const void *)data;

		CHECK(rc == -EPROTO);
		CHECK(h->write_index >= dsize || h->read_index >= dsize || h->write_index % 8 ||
		      h->read_index % 8);
		free(mem);
		free(buf);
		return;
	}
	CHECK(vmbus_ring_data_size(r) == dsize);
	CHECK(vmbus_ring_max_packet(r) <= dsize - 16);
	for (;;) {
		rc = vmbus_ring_peek(r, buf, bufsz, &need);
		if (rc == -ENOBUFS) {
			uint8_t *nb;

			CHECK(need > bufsz && need <= vmbus_ring_data_size(r) - 8);
			nb = realloc(buf, need);
			CHECK(nb);
			buf = nb;
			bufsz = need;
			continue;
		}
		if (rc < 0)
			break;
		{
			struct vmbus_pkt_desc d;

			memcpy(&d, buf, sizeof(d));
			CHECK((uint32_t)rc == d.len8 * 8u && rc <= (int)bufsz);
			CHECK(d.offset8 >= 2 && d.offset8 <= d.len8);
			CHECK((uint64_t)rc + 8 <= dsize);
		}
		CHECK(vmbus_ring_consume(r) == 0);
		CHECK(vmbus_ring_consume(r) == -EINVAL);
		if (++reads % 7 == 0) {
			rc = vmbus_ring_read_commit(r);
			CHECK(rc == 0 || rc == 1 || rc == -EPROTO);
			if (rc < 0)
				break;
		}
		if (reads == MAX_READS)
			break;
	}
	if (rc == -EPROTO) {
		/* broken with a reason, and for good */
		CHECK(vmbus_ring_broken(r) != NULL);
		CHECK(vmbus_ring_peek(r, buf, bufsz, NULL) == -EPROTO);
		CHECK(vmbus_ring_readable(r) == -EPROTO);
		CHECK(vmbus_ring_arm(r) == -EPROTO);
	} else {
		CHECK(rc == -EAGAIN || reads == MAX_READS);
		rc = vmbus_ring_read_commit(r);
		CHECK(rc == 0 || rc == 1 || rc == -EPROTO);
		rc = vmbus_ring_arm(r);
		CHECK(rc == 0 || rc == 1 || rc == -EPROTO);
		vmbus_ring_disarm(r);
	}
	vmbus_ring_detach(r);

	/* the same bytes as the ring we write to: the reader's index is the peer's */
	memcpy(mem, data, HDR + dsize);
	if (vmbus_ring_attach(mem, HDR + dsize, HDR, &r) == 0) {
		uint8_t pkt[40] = { 0 };
		struct iovec iov = { pkt, sizeof(pkt) };
		int64_t w;
		unsigned int i;

		for (i = 0; i < 64; i++) {
			rc = vmbus_ring_write(r, &iov, 1);
			CHECK(rc == 0 || rc == -EAGAIN || rc == -EMSGSIZE || rc == -EPROTO);
			if (rc)
				break;
		}
		rc = vmbus_ring_write_commit(r);
		CHECK(rc == 0 || rc == 1 || rc == -EPROTO);
		w = vmbus_ring_writable(r);
		CHECK(w == -EPROTO || (w >= 0 && (uint64_t)w <= dsize));
		rc = vmbus_ring_write_wait(r, 64);
		CHECK(rc == 0 || rc == 1 || rc == -EPROTO);
		vmbus_ring_detach(r);
	}
	free(mem);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmbus_ring_state s = { .sz = sizeof(s) }, small;
	uint8_t *ring, *copy;
	int rc;

	if (size > (1u << 20))
		return 0;
	ring = malloc(size ? size : 1);
	copy = malloc(size ? size : 1);
	if (!ring || !copy) {
		free(ring);
		free(copy);
		return 0;
	}
	memcpy(ring, data, size);
	memcpy(copy, data, size);
	rc = vmbus_ring_inspect(ring, size, HDR, &s);
	CHECK(rc == 0 || rc == -EPROTO || rc == -EINVAL);
	CHECK(!memcmp(ring, copy, size));
	if (rc == -EINVAL)
		CHECK(size <= HDR);
	if (rc == 0) {
		CHECK(!s.problem && !s.packet_problem);
		CHECK(s.data_size == size - HDR);
		CHECK(s.read_index < s.data_size && s.write_index < s.data_size);
		CHECK((uint64_t)s.bytes_to_read + s.bytes_to_write == s.data_size);
		if (s.has_packet) {
			CHECK(s.next.offset8 >= 2 && s.next.offset8 <= s.next.len8);
			CHECK((uint64_t)s.next.len8 * 8 + 8 <= s.bytes_to_read);
		} else {
			CHECK(s.bytes_to_read == 0);
		}
	}
	if (rc != -EINVAL) {
		CHECK((rc == 0) == (!s.problem && !s.packet_problem));
		/* an older caller's struct: the fields up to data_size only */
		memset(&small, 0x5a, sizeof(small));
		small.sz = offsetof(struct vmbus_ring_state, data_size);
		CHECK(vmbus_ring_inspect(ring, size, HDR, &small) == rc);
		CHECK(small.write_index == s.write_index && small.feature_bits == s.feature_bits);
		CHECK(small.data_size == 0x5a5a5a5au);
	}
	free(ring);
	free(copy);
	reader(data, size);
	return 0;
}
