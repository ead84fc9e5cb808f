/* SPDX-License-Identifier: MIT */
/*
 * The size rule of option and output structs (include/opts.h, and the
 * Conventions of vmbus.h): a caller built against an older, smaller struct
 * or a newer, larger one works; a larger one whose unknown fields are not
 * zero, or a size field that was never set, is refused.
 *
 * Smaller structs live in heap blocks of exactly their size, so that
 * AddressSanitizer reports any byte the library reads or writes beyond
 * what the caller declared.
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

#include "fixture_tree.h"
#include "opts.h"

#define RING 65536u
#define HDR 4096u

/* ------------------------------------------------------------------------ */
/* the helper on its own                                                     */
/* ------------------------------------------------------------------------ */

/* Three versions of one struct, the middle one the library's. */
struct demo_v0 {
	size_t sz;
};

struct demo_opts {
	size_t sz;
	uint32_t a;
	uint32_t flags;
};
#define demo_opts__last flags

struct demo_v2 {
	size_t sz;
	uint32_t a;
	uint32_t flags;
	uint64_t b;
};

OPTS_CHECK_IN(demo_opts);

/* An output struct with trailing padding; the next version fills it. */
struct demo_out {
	size_t sz;
	uint32_t a;
};
#define demo_out__last a

struct demo_out_v2 {
	size_t sz;
	uint32_t a;
	uint32_t b;
};

OPTS_CHECK_OUT(demo_out);

static void test_helper_input(void **state)
{
	struct demo_opts cur = { .sz = sizeof(cur), .a = 7 };
	struct demo_v2 next = { .sz = sizeof(next), .a = 7 };
	struct demo_v0 *old = malloc(sizeof(*old));
	const char *why;

	(void)state;
	assert_non_null(old);
	assert_int_equal(OPTS_VALID((struct demo_opts *)NULL, demo_opts, &why), 0);
	assert_int_equal(OPTS_GET((struct demo_opts *)NULL, a, 3u), 3u);
	assert_int_equal(OPTS_VALID(&cur, demo_opts, &why), 0);
	assert_int_equal(OPTS_GET(&cur, a, 3u), 7u);
	/* older: the missing field takes its default */
	old->sz = sizeof(*old);
	assert_int_equal(OPTS_VALID((struct demo_opts *)old, demo_opts, &why), 0);
	assert_int_equal(OPTS_GET((struct demo_opts *)old, a, 3u), 3u);
	/* newer: fine while its new field is zero */
	assert_int_equal(OPTS_VALID((struct demo_opts *)&next, demo_opts, &why), 0);
	next.b = 1;
	assert_int_equal(OPTS_VALID((struct demo_opts *)&next, demo_opts, &why), -EINVAL);
	assert_non_null(strstr(why, "does not know"));
	/* a size that was never set */
	cur.sz = 0;
	assert_int_equal(OPTS_VALID(&cur, demo_opts, &why), -EINVAL);
	assert_non_null(strstr(why, "sz"));
	cur.sz = sizeof(size_t) - 1;
	assert_int_equal(OPTS_VALID(&cur, demo_opts, &why), -EINVAL);
	free(old);
}

static void test_helper_output(void **state)
{
	struct demo_out full = { .sz = 999, .a = 7 };
	struct demo_out_v2 next;
	struct demo_v0 *old = malloc(sizeof(*old));

	(void)state;
	assert_non_null(old);
	old->sz = sizeof(*old);
	assert_int_equal(OPTS_FILL((struct demo_out *)old, &full, demo_out), 0);
	assert_int_equal(old->sz, sizeof(*old)); /* sz is the caller's */
	/* the newer struct has the same size: its new field is our padding */
	assert_int_equal(sizeof(next), sizeof(full));
	memset(&next, 0xa5, sizeof(next));
	next.sz = sizeof(next);
	assert_int_equal(OPTS_FILL((struct demo_out *)&next, &full, demo_out), 0);
	assert_int_equal(next.sz, sizeof(next));
	assert_int_equal(next.a, 7);
	assert_int_equal(next.b, 0); /* unknown to us: zeroed */
	next.sz = 0;
	assert_int_equal(OPTS_FILL((struct demo_out *)&next, &full, demo_out), -EINVAL);
	assert_int_equal(OPTS_FILL((struct demo_out *)NULL, &full, demo_out), -EINVAL);
	free(old);
}

/* ------------------------------------------------------------------------ */
/* vmbus_chan_attach_opts and vmbus_chan_stats                               */
/* ------------------------------------------------------------------------ */

/* An older struct: the rings, no relid, transfer limit or signal. */
struct attach_v0 {
	size_t sz;
	void *tx;
	size_t tx_size;
	void *rx;
	size_t rx_size;
	size_t hdr_size;
};

struct attach_next {
	struct vmbus_chan_attach_opts cur;
	uint64_t future;
};

static uint8_t *rings_new(void)
{
	uint8_t *mem = calloc(1, 2 * RING);

	assert_non_null(mem);
	vmbus_ring_hdr_init((struct vmbus_ring_hdr *)mem);
	vmbus_ring_hdr_init((struct vmbus_ring_hdr *)(mem + RING));
	return mem;
}

static int count_signal(struct vmbus_chan *chan, void *arg)
{
	(void)chan;
	(*(int *)arg)++;
	return 0;
}

static void test_chan_attach_opts(void **state)
{
	uint8_t *mem = rings_new();
	struct attach_v0 *old = malloc(sizeof(*old));
	struct attach_next next;
	struct vmbus_chan *c = (void *)1;
	int signals = 0;

	(void)state;
	assert_non_null(old);
	*old = (struct attach_v0){ .sz = sizeof(*old), .tx = mem, .tx_size = RING,
				   .rx = mem + RING, .rx_size = RING, .hdr_size = HDR };
	assert_int_equal(vmbus_chan_attach((struct vmbus_chan_attach_opts *)old, &c), 0);
	assert_int_equal(vmbus_chan_relid(c), 0); /* the default */
	assert_int_equal(vmbus_chan_send(c, 0, 0, "ping1234", 8), 0); /* no signal callback */
	vmbus_chan_detach(c);

	memset(&next, 0, sizeof(next));
	next.cur = (struct vmbus_chan_attach_opts){ .sz = sizeof(next), .tx = mem, .tx_size = RING,
						    .rx = mem + RING, .rx_size = RING,
						    .hdr_size = HDR, .relid = 9,
						    .signal = count_signal, .signal_arg = &signals };
	vmbus_ring_hdr_init((struct vmbus_ring_hdr *)mem);
	assert_int_equal(vmbus_chan_attach(&next.cur, &c), 0);
	assert_int_equal(vmbus_chan_relid(c), 9);
	assert_int_equal(vmbus_chan_send(c, 0, 0, "ping1234", 8), 0);
	assert_int_equal(signals, 1);
	vmbus_chan_detach(c);

	next.future = 1;
	c = (void *)1;
	assert_int_equal(vmbus_chan_attach(&next.cur, &c), -EINVAL);
	assert_null(c);
	next.future = 0;
	next.cur.sz = 0;
	assert_int_equal(vmbus_chan_attach(&next.cur, &c), -EINVAL);
	next.cur.sz = sizeof(size_t) - 1;
	assert_int_equal(vmbus_chan_attach(&next.cur, &c), -EINVAL);
	free(old);
	free(mem);
}

/* An older stats struct: the transmit counters only. */
struct stats_v0 {
	size_t sz;
	uint64_t tx_packets;
	uint64_t tx_bytes;
};

struct stats_next {
	struct vmbus_chan_stats cur;
	uint64_t future[2];
};

static void test_chan_stats_sizes(void **state)
{
	uint8_t *mem = rings_new();
	struct vmbus_chan_attach_opts o = { .sz = sizeof(o), .tx = mem, .tx_size = RING,
					    .rx = mem + RING, .rx_size = RING, .hdr_size = HDR };
	struct stats_v0 *old = malloc(sizeof(*old));
	struct stats_next next;
	struct vmbus_chan *c;

	(void)state;
	assert_non_null(old);
	assert_int_equal(vmbus_chan_attach(&o, &c), 0);
	assert_int_equal(vmbus_chan_send(c, 0, 0, "12345678", 8), 0);
	assert_int_equal(vmbus_chan_send(c, 0, 0, "1234567812345678", 16), 0);

	old->sz = sizeof(*old);
	assert_int_equal(vmbus_chan_stats(c, (struct vmbus_chan_stats *)old), 0);
	assert_int_equal(old->sz, sizeof(*old));
	assert_int_equal(old->tx_packets, 2);
	assert_int_equal(old->tx_bytes, 24);

	memset(&next, 0xa5, sizeof(next));
	next.cur.sz = sizeof(next);
	assert_int_equal(vmbus_chan_stats(c, &next.cur), 0);
	assert_int_equal(next.cur.sz, sizeof(next));
	assert_int_equal(next.cur.tx_packets, 2);
	assert_int_equal(next.cur.rx_packets, 0);
	assert_int_equal(next.future[0], 0);
	assert_int_equal(next.future[1], 0);

	next.cur.sz = 0;
	assert_int_equal(vmbus_chan_stats(c, &next.cur), -EINVAL);
	assert_int_equal(vmbus_chan_stats(c, NULL), -EINVAL);
	vmbus_chan_detach(c);
	free(old);
	free(mem);
}

/* ------------------------------------------------------------------------ */
/* vmbus_dev_opts and vmbus_dev_info                                         */
/* ------------------------------------------------------------------------ */

struct dev_env {
	char *root;
	struct fx_host *host;
};

static struct dev_env *live_env;

static struct dev_env *dev_env_new(void)
{
	struct dev_env *e = calloc(1, sizeof(*e));
	struct fx_device d = fx_nic_6_1();

	assert_non_null(e);
	live_env = e;
	e->root = fx_root();
	fx_build(e->root, &d);
	e->host = fx_host_start(e->root, 0);
	return e;
}

static void dev_env_free(struct dev_env *e)
{
	if (!e)
		return;
	fx_host_stop(e->host);
	fx_rm_rf(e->root);
	free(e->root);
	free(e);
	live_env = NULL;
}

static int teardown(void **state)
{
	(void)state;
	dev_env_free(live_env);
	return 0;
}

/* An older struct: the root only, no error buffer. */
struct dev_opts_v0 {
	size_t sz;
	const char *root;
};

struct dev_opts_next {
	struct vmbus_dev_opts cur;
	uint32_t future;
};

static void test_dev_opts(void **state)
{
	struct dev_env *e = dev_env_new();
	struct dev_opts_v0 *old = malloc(sizeof(*old));
	struct dev_opts_next next;
	struct vmbus_device *dev;
	char err[256];

	(void)state;
	assert_non_null(old);
	*old = (struct dev_opts_v0){ .sz = sizeof(*old), .root = e->root };
	assert_int_equal(vmbus_dev_open(FX_NIC_GUID, (struct vmbus_dev_opts *)old, &dev), 0);
	vmbus_dev_close(dev);
	/* a failure with no error buffer to fill */
	assert_int_equal(vmbus_dev_open(FX_FCOPY_GUID, (struct vmbus_dev_opts *)old, &dev),
			 -ENOENT);

	memset(&next, 0, sizeof(next));
	next.cur = (struct vmbus_dev_opts){ .sz = sizeof(next), .root = e->root, .errbuf = err,
					    .errbuf_len = sizeof(err) };
	assert_int_equal(vmbus_dev_open(FX_NIC_GUID, &next.cur, &dev), 0);
	vmbus_dev_close(dev);

	next.future = 1;
	err[0] = '\0';
	dev = (void *)1;
	assert_int_equal(vmbus_dev_open(FX_NIC_GUID, &next.cur, &dev), -EINVAL);
	assert_null(dev);
	assert_non_null(strstr(err, FX_NIC_GUID));
	assert_non_null(strstr(err, "struct vmbus_dev_opts"));
	assert_non_null(strstr(err, "does not know"));

	next.future = 0;
	next.cur.sz = 0;
	assert_int_equal(vmbus_dev_open(FX_NIC_GUID, &next.cur, &dev), -EINVAL);
	dev_env_free(e);
	free(old);
}

/* An older info struct: the identity of the device only. */
struct dev_info_v0 {
	size_t sz;
	struct vmbus_guid device_id;
	struct vmbus_guid class_id;
	uint32_t relid;
};

static void test_dev_info_sizes(void **state)
{
	struct dev_env *e = dev_env_new();
	struct vmbus_dev_opts o = { .sz = sizeof(o), .root = e->root };
	struct dev_info_v0 *old = malloc(sizeof(*old));
	struct vmbus_guid nic = VMBUS_CLASS_NIC;
	size_t known = offsetof(struct vmbus_dev_info, send_gpadl) + sizeof(uint32_t);
	struct vmbus_device *dev;
	unsigned char *next;
	struct vmbus_dev_info cur;

	(void)state;
	assert_non_null(old);
	assert_int_equal(vmbus_dev_open(FX_NIC_GUID, &o, &dev), 0);

	old->sz = sizeof(*old);
	assert_int_equal(vmbus_dev_info(dev, (struct vmbus_dev_info *)old), 0);
	assert_true(vmbus_guid_equal(&old->class_id, &nic));
	assert_int_equal(old->relid, 14);

	/* a newer struct whose new field sits in what is our padding */
	assert_true(known < sizeof(cur));
	next = malloc(sizeof(cur) + 8);
	assert_non_null(next);
	memset(next, 0xa5, sizeof(cur) + 8);
	cur.sz = sizeof(cur) + 8;
	memcpy(next, &cur.sz, sizeof(cur.sz));
	assert_int_equal(vmbus_dev_info(dev, (struct vmbus_dev_info *)next), 0);
	memcpy(&cur, next, sizeof(cur));
	assert_int_equal(cur.relid, 14);
	assert_int_equal(cur.send_gpadl, 921105);
	for (size_t i = known; i < sizeof(cur) + 8; i++)
		assert_int_equal(next[i], 0);

	cur.sz = 3;
	assert_int_equal(vmbus_dev_info(dev, &cur), -EINVAL);
	vmbus_dev_close(dev);
	dev_env_free(e);
	free(next);
	free(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_helper_input),
		cmocka_unit_test(test_helper_output),
		cmocka_unit_test(test_chan_attach_opts),
		cmocka_unit_test(test_chan_stats_sizes),
		cmocka_unit_test_teardown(test_dev_opts, teardown),
		cmocka_unit_test_teardown(test_dev_info_sizes, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
