/* SPDX-License-Identifier: MIT */
/*
 * The calls under vmbus-ls and vmbus-ring: vmbus_ring_inspect on crafted
 * rings (consistent, wrapped, and every kind of inconsistency), the size
 * rule of the option and output structs, vmbus_dev_describe,
 * vmbus_chan_describe and vmbus_ring_view on a small tree, the class
 * names.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <vmbus/vmbus.h>

#define HDR 4096u
#define DSIZE 4096u
#define RING (HDR + DSIZE)

static uint8_t ring[RING] __attribute__((aligned(4096)));

static struct vmbus_ring_hdr *hdr(void)
{
	return (struct vmbus_ring_hdr *)ring;
}

/* Puts a record (descriptor + @payload bytes + trailer) at @pos, wrapping. */
static uint32_t put_record(uint32_t pos, uint16_t type, uint32_t payload, uint64_t tid)
{
	struct vmbus_pkt_desc d = { .type = type, .offset8 = 2,
				    .len8 = (uint16_t)((16 + payload + 7) / 8), .flags = 1,
				    .trans_id = tid };
	uint32_t len = d.len8 * 8u + 8u, i;
	uint8_t rec[512] = { 0 };

	memcpy(rec, &d, sizeof(d));
	for (i = 0; i < len; i++)
		ring[HDR + (pos + i) % DSIZE] = rec[i];
	return (pos + len) % DSIZE;
}

static void reset(void)
{
	memset(ring, 0, sizeof(ring));
	hdr()->feature_bits = 1;
}

static void inspect_consistent(void **state)
{
	struct vmbus_ring_state s = { .sz = sizeof(s) };
	uint32_t w;

	(void)state;
	reset();
	assert_int_equal(vmbus_ring_inspect(ring, RING, HDR, &s), 0);
	assert_false(s.has_packet);
	assert_int_equal(s.bytes_to_read, 0);
	assert_int_equal(s.bytes_to_write, DSIZE);
	assert_int_equal(s.data_size, DSIZE);

	w = put_record(64, 6, 40, 0x1234);
	hdr()->read_index = 64;
	hdr()->write_index = w;
	hdr()->interrupt_mask = 1;
	hdr()->pending_send_sz = 512;
	assert_int_equal(vmbus_ring_inspect(ring, RING, HDR, &s), 0);
	assert_null(s.problem);
	assert_true(s.has_packet);
	assert_null(s.packet_problem);
	assert_int_equal(s.next.type, 6);
	assert_int_equal(s.next.len8, 7);
	assert_int_equal(s.next.trans_id, 0x1234);
	assert_int_equal(s.bytes_to_read, w - 64);
	assert_int_equal(s.bytes_to_write, DSIZE - (w - 64));
	assert_int_equal(s.interrupt_mask, 1);
	assert_int_equal(s.pending_send_sz, 512);
	assert_int_equal(s.feature_bits, 1);

	/* a descriptor split across the end of the data area */
	reset();
	w = put_record(DSIZE - 8, 11, 16, 7);
	hdr()->read_index = DSIZE - 8;
	hdr()->write_index = w;
	assert_int_equal(vmbus_ring_inspect(ring, RING, HDR, &s), 0);
	assert_true(s.has_packet);
	assert_int_equal(s.next.type, 11);
	assert_int_equal(s.next.trans_id, 7);
	assert_int_equal(s.bytes_to_read, 8 + w);
}

static void inspect_inconsistent(void **state)
{
	struct vmbus_ring_state s = { .sz = sizeof(s) };
	struct vmbus_pkt_desc *d = (struct vmbus_pkt_desc *)(ring + HDR + 128);

	(void)state;
	reset();
	hdr()->write_index = DSIZE;
	assert_int_equal(vmbus_ring_inspect(ring, RING, HDR, &s), -EPROTO);
	assert_non_null(strstr(s.problem, "write_index is beyond"));
	reset();
	hdr()->read_index = 0xffffffffu;
	assert_int_equal(vmbus_ring_inspect(ring, RING, HDR, &s), -EPROTO);
	assert_non_null(strstr(s.problem, "read_index is beyond"));
	reset();
	hdr()->write_index = 12;
	assert_int_equal(vmbus_ring_inspect(ring, RING, HDR, &s), -EPROTO);
	assert_non_null(strstr(s.problem, "not 8-byte aligned"));
	reset();
	hdr()->write_index = 8; /* fewer bytes than a descriptor */
	assert_int_equal(vmbus_ring_inspect(ring, RING, HDR, &s), -EPROTO);
	assert_non_null(s.problem);

	reset();
	hdr()->read_index = 128;
	hdr()->write_index = put_record(128, 6, 8, 1);
	d->offset8 = 1;
	assert_int_equal(vmbus_ring_inspect(ring, RING, HDR, &s), -EPROTO);
	assert_non_null(strstr(s.packet_problem, "below 2"));
	d->offset8 = 9;
	assert_int_equal(vmbus_ring_inspect(ring, RING, HDR, &s), -EPROTO);
	assert_non_null(strstr(s.packet_problem, "beyond len8"));
	d->offset8 = 2;
	d->len8 = 0xffff;
	d->offset8 = 2;
	assert_int_equal(vmbus_ring_inspect(ring, RING, HDR, &s), -EPROTO);
	assert_non_null(strstr(s.packet_problem, "beyond the bytes written"));
	assert_null(s.problem);

	/* sizes that cannot be a ring */
	assert_int_equal(vmbus_ring_inspect(ring, HDR, HDR, &s), -EINVAL);
	assert_int_equal(vmbus_ring_inspect(ring, RING, 16, &s), -EINVAL);
	assert_int_equal(vmbus_ring_inspect(NULL, RING, HDR, &s), -EINVAL);
	/* an odd data area */
	reset();
	assert_int_equal(vmbus_ring_inspect(ring, RING - 4, HDR, &s), -EPROTO);
}

/* The struct rule, on an output struct and on an option struct. */
static void size_rule(void **state)
{
	struct big {
		struct vmbus_ring_state s;
		uint64_t tail;
	} big;
	struct vmbus_ring_state small;
	struct {
		struct vmbus_scan_opts o;
		uint32_t tail;
	} bigopts;
	char err[256] = "";
	size_t cut = offsetof(struct vmbus_ring_state, data_size);

	(void)state;
	reset();
	hdr()->write_index = put_record(0, 6, 8, 1);
	/* an older, smaller struct: only its fields are written */
	memset(&small, 0xa5, sizeof(small));
	small.sz = cut;
	assert_int_equal(vmbus_ring_inspect(ring, RING, HDR, &small), 0);
	assert_int_equal(small.write_index, hdr()->write_index);
	assert_int_equal(small.feature_bits, 1);
	assert_int_equal(small.data_size, 0xa5a5a5a5u);
	/* a newer, larger one: fine while the tail is zero */
	memset(&big, 0, sizeof(big));
	big.s.sz = sizeof(big);
	assert_int_equal(vmbus_ring_inspect(ring, RING, HDR, &big.s), 0);
	assert_int_equal(big.s.data_size, DSIZE);
	assert_int_equal(big.tail, 0);
	/* what this library does not know reads as zero */
	big.tail = 0x1234;
	assert_int_equal(vmbus_ring_inspect(ring, RING, HDR, &big.s), 0);
	assert_int_equal(big.tail, 0);
	assert_int_equal(big.s.sz, sizeof(big));
	big.s.sz = 0;
	assert_int_equal(vmbus_ring_inspect(ring, RING, HDR, &big.s), -EINVAL);

	memset(&bigopts, 0, sizeof(bigopts));
	bigopts.o.sz = sizeof(bigopts);
	bigopts.o.root = "/nonexistent-root";
	bigopts.o.errbuf = err;
	bigopts.o.errbuf_len = sizeof(err);
	assert_int_equal(vmbus_scan(&bigopts.o, NULL, 0), -ENOENT);
	bigopts.tail = 3;
	assert_int_equal(vmbus_scan(&bigopts.o, NULL, 0), -EINVAL);
	assert_non_null(strstr(err, "vmbus_scan_opts"));
	/* an older options struct with the root only: errbuf defaults to none */
	{
		struct vmbus_scan_opts o = { .root = "/nonexistent-root" };

		o.sz = offsetof(struct vmbus_scan_opts, errbuf);
		assert_int_equal(vmbus_scan(&o, NULL, 0), -ENOENT);
	}
}

static char tree[256];

static void put(const char *rel, const char *text)
{
	char p[512], cmd[600];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", tree, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", p);
	assert_int_equal(system(cmd), 0);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

#define DEV "5a3f0c1e-2b4d-4c6e-8f10-123456789abc"
#define DEVDIR "sys/bus/vmbus/devices/" DEV

static void make_tree(void)
{
	char p[512];

	snprintf(tree, sizeof(tree), "/tmp/vmbus-unit-scan.XXXXXX");
	assert_non_null(mkdtemp(tree));
	put(DEVDIR "/class_id", "{f8615163-df3e-46c5-913f-f2d2f965ed0e}\n");
	put(DEVDIR "/device_id", "{" DEV "}\n");
	put(DEVDIR "/id", "14\n");
	put(DEVDIR "/numa_node", "-1\n");
	put(DEVDIR "/driver_override", "(null)\n");
	put(DEVDIR "/net/eth5/operstate", "up\n");
	put(DEVDIR "/uio/uio3/name", "hv_uio\n");
	put(DEVDIR "/channels/14/subchannel_id", "0\n");
	put(DEVDIR "/channels/14/cpu", "1\n");
	put(DEVDIR "/channels/14/out_mask", "1\n");
	put(DEVDIR "/channels/14/read_avail", "0\n");
	put(DEVDIR "/channels/31/subchannel_id", "1\n");
	put("sys/class/uio/uio3/maps/map0/size", "0x0000000000004000\n");
	/* the ring file reports more than the ring, as before Linux 6.15 */
	snprintf(p, sizeof(p), "%s/" DEVDIR "/channels/14/ring", tree);
	{
		FILE *f = fopen(p, "w");

		assert_non_null(f);
		fclose(f);
		assert_int_equal(truncate(p, 4u << 20), 0);
	}
	snprintf(p, sizeof(p), "%s/" DEVDIR "/driver", tree);
	assert_int_equal(symlink("../../../bus/vmbus/drivers/hv_uio", p), 0);
}

static void remove_tree(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tree);
	assert_int_equal(system(cmd), 0);
}

static void describe(void **state)
{
	char err[512];
	struct vmbus_scan_opts o = { .sz = sizeof(o), .errbuf = err, .errbuf_len = sizeof(err) };
	struct vmbus_dev_desc d = { .sz = sizeof(d) };
	struct vmbus_chan_desc c = { .sz = sizeof(c) };
	struct vmbus_ring_view *v;
	struct vmbus_guid ids[4];
	uint32_t relids[4];

	(void)state;
	make_tree();
	o.root = tree;
	assert_int_equal(vmbus_scan(&o, ids, 4), 1);
	assert_int_equal(vmbus_dev_describe(DEV, &o, &d), 0);
	assert_string_equal(d.guid, DEV);
	assert_int_equal(d.relid, 14);
	assert_int_equal(d.monitor_id, VMBUS_MONITOR_ID_NONE);
	assert_int_equal(d.numa_node, -1);
	assert_string_equal(d.driver, "hv_uio");
	assert_true(d.has_override);
	assert_string_equal(d.driver_override, "");
	assert_int_equal(d.uio_index, 3);
	assert_string_equal(d.ifname, "eth5");
	assert_int_equal(d.nchans, 2);
	assert_int_equal(vmbus_dev_chans(DEV, &o, relids, 4), 2);
	assert_int_equal(relids[0], 14);
	assert_int_equal(relids[1], 31);
	assert_int_equal(vmbus_chan_describe(DEV, 14, &o, &c), 0);
	assert_int_equal(c.subchan_id, 0);
	assert_int_equal(c.cpu, 1);
	assert_int_equal(c.out_mask, 1);
	assert_int_equal(c.in_mask, -1);
	assert_true(c.has_ring);
	assert_int_equal(c.ring_file_size, 4u << 20);
	assert_int_equal(vmbus_chan_describe(DEV, 15, &o, &c), -ENOENT);

	/* the primary's ring is map 0's size, not the file's */
	assert_int_equal(vmbus_ring_view_open(DEV, 0, &o, &v), 0);
	assert_int_equal(vmbus_ring_view_relid(v), 14);
	assert_int_equal(vmbus_ring_view_size(v), 0x2000);
	vmbus_ring_view_close(v);
	assert_int_equal(vmbus_ring_view_open(DEV, 31, &o, &v), -ENXIO);
	assert_non_null(strstr(err, "no ring file"));
	assert_int_equal(vmbus_ring_view_open(DEV, 99, &o, &v), -ENOENT);

	assert_int_equal(vmbus_dev_describe("not-a-guid", &o, &d), -EINVAL);
	assert_int_equal(vmbus_dev_describe("00000000-0000-0000-0000-000000000001", &o, &d),
			 -ENOENT);
	assert_non_null(strstr(err, "no such device"));
	put(DEVDIR "/class_id", "{nonsense}\n");
	assert_int_equal(vmbus_dev_describe(DEV, &o, &d), -EBADMSG);
	assert_non_null(strstr(err, "class_id"));
	remove_tree();
}

static void classes(void **state)
{
	static const char *const known[] = {
		"f8615163-df3e-46c5-913f-f2d2f965ed0e", "32412632-86cb-44a2-9b5c-50d1417354f5",
		"ba6163d9-04a1-4d29-b605-72e2ffb1dc7f", "0e0b6031-5213-4934-818b-38d90ced39db",
		"9527e630-d0ae-497b-adce-e80ab0175caf", "57164f39-9115-4e78-ab55-382f3bd5422d",
		"a9a0f4e7-5a45-4d96-b827-8a841e8c03e6", "525074dc-8985-46e2-8057-a307dc18a502",
		"cfa8b69e-5b4a-4cc0-b98b-8ba1a1f3f95a", "f912ad6d-2b17-48ea-bd65-f927a61c7684",
		"35fa2e29-ea23-4236-96ae-3a6ebacba440", "da0a7802-e377-4aac-8e77-0558eb1073f8",
		"2f9bcc4a-0069-4af3-b76b-6fd0be528cda", "34d14be3-dee4-41c8-9ae7-6b174977c192",
		"8c2eaf3d-32a7-4b09-ab99-bd1f1c86b501", "44c4f61d-4444-4400-9d52-802e27ede19f",
		"f8e65716-3cb3-4a06-9a60-1889c5cccab5", "3375baf4-9e15-4b30-b765-67acb10d607b",
		"276aacf4-ac15-426c-98dd-7521ad3f01fe", "c376c1c3-d276-48d2-90a9-c04748072c60",
	};
	struct vmbus_guid g;
	size_t i;

	(void)state;
	/* every HV_*_GUID of include/linux/hyperv.h has a name */
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		assert_int_equal(vmbus_guid_parse(known[i], &g), 0);
		assert_non_null(vmbus_class_name(&g));
		assert_non_null(vmbus_class_desc(&g));
	}
	assert_int_equal(vmbus_guid_parse(known[0], &g), 0);
	assert_string_equal(vmbus_class_driver(&g), "hv_netvsc");
	assert_int_equal(vmbus_guid_parse("01234567-89ab-cdef-0123-456789abcdef", &g), 0);
	assert_null(vmbus_class_desc(&g));
	assert_null(vmbus_class_driver(&g));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(inspect_consistent), cmocka_unit_test(inspect_inconsistent),
		cmocka_unit_test(size_rule),	      cmocka_unit_test(describe),
		cmocka_unit_test(classes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
