/* SPDX-License-Identifier: MIT */
/*
 * read() of /dev/uioN: exactly 4 bytes, blocks until the host signals the
 * channel, returns the device's event count; signals coalesce; poll reports
 * POLLIN.  The driver leaves the ring's interrupt_mask alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ktest.h"

static uint64_t chan_u64(const char *guid, uint32_t relid, const char *attr)
{
	return kt_read_u64("/sys/bus/vmbus/devices/%s/channels/%u/%s", guid, relid, attr);
}

int main(int argc, char **argv)
{
	struct kt_reader r;
	struct pollfd pfd;
	char guid[37], path[64];
	uint32_t relid, count;
	uint64_t big;
	int fd, nb;

	kt_init(argc, argv, "read() blocks until the host signals and returns the count");
	relid = kt_offer_bound(KT_CLASS_NIC, guid);

	/* not open: no callback, nothing delivered */
	KT_ASSERT(kt_signal(relid) == 0, "a signal reached a channel nobody opened");

	fd = kt_uio_open(guid);
	snprintf(path, sizeof(path), "/dev/uio%d", kt_uio_index(guid));
	nb = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	KT_ASSERT(nb >= 0, "open %s O_NONBLOCK", path);

	KT_ASSERT(read(fd, &big, sizeof(big)) < 0 && errno == EINVAL, "read of 8 bytes");
	KT_ASSERT(read(nb, &count, sizeof(count)) < 0 && errno == EAGAIN,
		  "non-blocking read without an interrupt");
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	KT_ASSERT(poll(&pfd, 1, 0) == 0, "poll is ready without an interrupt (revents %#x)",
		  pfd.revents);

	/* a reader sleeps in read() until the host signals */
	kt_reader_start(&r, fd);
	KT_ASSERT(kt_signal(relid) == 1, "the host's signal reached no callback");
	kt_reader_join(&r);
	errno = r.err;
	KT_ASSERT(r.n == 4 && r.count == 1, "read returned %zd, count %u", r.n, r.count);

	/* signals coalesce into one wakeup carrying the total */
	KT_ASSERT(kt_signal(relid) == 1 && kt_signal(relid) == 1, "signals");
	pfd.revents = 0;
	KT_ASSERT(poll(&pfd, 1, KT_TIMEOUT_MS) == 1 && (pfd.revents & POLLIN),
		  "poll after a signal: revents %#x", pfd.revents);
	KT_ASSERT(read(fd, &count, sizeof(count)) == 4 && count == 3, "count %u after 3 signals",
		  count);
	KT_ASSERT(read(nb, &count, sizeof(count)) == 4 && count == 3,
		  "the second opener's count is %u", count);
	KT_ASSERT(read(nb, &count, sizeof(count)) < 0 && errno == EAGAIN,
		  "the count was reported twice");
	KT_ASSERT(chan_u64(guid, relid, "interrupts") == 3, "channel interrupts %llu",
		  (unsigned long long)chan_u64(guid, relid, "interrupts"));

	/* the driver does not mask the ring when an interrupt comes */
	KT_ASSERT(chan_u64(guid, relid, "in_mask") == 0, "in_mask %llu after interrupts",
		  (unsigned long long)chan_u64(guid, relid, "in_mask"));

	close(nb);
	close(fd);
	/* closed again: the callback is gone */
	KT_ASSERT(kt_signal(relid) == 0, "a signal reached the closed channel");
	kt_pass();
}
