/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - what the libFuzzer harnesses share: libFuzzer's entry point,
 * CHECK, which turns a broken property into a crash the fuzzer reports,
 * the reading of scripts, a channel pair over plain memory and a
 * descriptor count.
 */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <vmbus/vmbus.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

/*
 * The harnesses that take a script read it as records [op][len][len bytes]
 * from *@at on; the last record is cut to what is left.  With @gone_255, a
 * length of 255 means a record of no bytes that says "gone" (sysfs edits
 * remove a file so).  Returns false at the end (or after @max records).
 */
struct fuzz_rec {
	unsigned int op; /* 0 .. nops - 1 */
	const uint8_t *p;
	size_t len;
	bool gone;
};

static inline bool fuzz_next(const uint8_t *data, size_t size, size_t *at, unsigned int nops,
			     bool gone_255, unsigned int *count, unsigned int max,
			     struct fuzz_rec *r)
{
	if (*at + 2 > size || (*count)++ >= max)
		return false;
	r->op = data[*at] % nops;
	r->len = data[*at + 1];
	r->gone = gone_255 && r->len == 255;
	if (r->gone)
		r->len = 0;
	*at += 2;
	if (r->len > size - *at)
		r->len = size - *at;
	r->p = data + *at;
	*at += r->len;
	return true;
}

/*
 * A guest and a host channel over the same two rings, each @size bytes of
 * which @hdr are the header: @g2h is the guest's send ring, @h2g its receive
 * ring.  The guest checks transfer-page ranges against @xfer_limit.
 */
static inline void fuzz_chan_pair(void *g2h, void *h2g, size_t size, size_t hdr,
				  uint64_t xfer_limit, struct vmbus_chan **guest,
				  struct vmbus_chan **host)
{
	struct vmbus_chan_attach_opts o = { .sz = sizeof(o) };

	o.tx = g2h;
	o.tx_size = size;
	o.rx = h2g;
	o.rx_size = size;
	o.hdr_size = hdr;
	o.xfer_limit = xfer_limit;
	CHECK(vmbus_chan_attach(&o, guest) == 0);
	o.tx = h2g;
	o.rx = g2h;
	o.xfer_limit = 0;
	CHECK(vmbus_chan_attach(&o, host) == 0);
}

/* Descriptors this process holds (a harness checks it leaks none). */
static inline int fuzz_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	CHECK(d);
	while ((de = readdir(d)))
		n++;
	closedir(d);
	return n;
}

#endif /* TESTS_FUZZ_FUZZ_H */
