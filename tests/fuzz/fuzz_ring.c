/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: vmbus_ring_inspect, what vmbus-ls and vmbus-ring read
 * from a ring the host (or anyone) may have written anything into.  The
 * input is one ring direction: a 72-byte header (the fields up to
 * feature_bits and some reserved space) and the data area, in an
 * exact-size heap block, so any read outside it is an ASan report.
 *
 * Properties: only 0, -EPROTO or -EINVAL; nothing is written to the ring;
 * on 0 the fill levels add up to the data area and a packet shown fits in
 * what was written; an older, smaller output struct gets only its fields.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vmbus/vmbus.h>

#include "fuzz.h"

#define HDR 72u

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
	return 0;
}
