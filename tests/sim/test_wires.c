/* SPDX-License-Identifier: MIT */
/*
 * vmbus-hostsim's wires, seen from a scripted guest: gen makes frames of a
 * given size and count for the guest, sink takes and drops, pcap records
 * what the guest sends, tap joins the NIC to a Linux TAP interface.
 */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <genframe.h>

#include "guest.h"

/*
 * 500 gen frames of @size arrive in order, intact, and no more.  Sizes
 * around NSP_FRAME_INLINE (128) take both ways a queued frame is kept:
 * whole in its entry, or its payload referred to until the slot.
 */
static void gen_round(struct guest *g, unsigned int size)
{
	static uint8_t got[375][2048];
	uint32_t lens[375], seen = 0, i;
	char sz[16];

	snprintf(sz, sizeof(sz), "%u", size);
	guest_close(g);
	assert_int_equal(sim_stop(&g->sim), 0);
	assert_int_equal(sim_start(&g->sim, "--wire", "gen", "--gen-size", sz, "--gen-count",
				   "500", NULL),
			 0);
	guest_open(g, 0);
	nic_up(g, 1500);
	while (seen < 500) {
		unsigned int n = recv_frames(g, g->c, got, lens, 375);

		for (i = 0; i < n; i++, seen++) {
			static const uint8_t host[6] = GENFRAME_HOST_SRC;
			uint64_t seq;

			assert_int_equal(lens[i], size);
			/* to the NIC's own address, from the host's, in the gen
			 * format that netvsc-user's sink --verify checks */
			assert_memory_equal(got[i], g->mac, 6);
			assert_memory_equal(got[i] + 6, host, 6);
			assert_int_equal(genframe_check(got[i], lens[i], &seq), 1);
			assert_true(seq == seen);
		}
	}
	/* and no more than asked for */
	assert_true(sim_wait_stats(&g->sim, "wire gen: 0 frames from the guest, 500 to it", 5000));
}

static void test_gen(void **state)
{
	static const unsigned int sizes[] = { 64, 127, 128, 129, 300, 1514 };
	struct guest *g = guest_new("--wire", "gen", NULL);
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		gen_round(g, sizes[i]);
}

/*
 * A NIC that takes no frames yet (no packet filter) costs the host nothing
 * while gen waits for it: no busy loop, a try per tick.  Once the filter is
 * set, the frames flow.
 */
static void test_gen_waits_for_filter(void **state)
{
	struct guest *g = guest_new("--wire", "gen", NULL);
	uint32_t filter = NDIS_PACKET_TYPE_DIRECTED;
	static uint8_t got[375][2048];
	uint32_t lens[375];
	long before, used;
	int64_t end;

	(void)state;
	guest_close(g);
	assert_int_equal(sim_stop(&g->sim), 0);
	assert_int_equal(sim_start(&g->sim, "--wire", "gen", "--gen-size", "200", NULL), 0);
	guest_open(g, 0);
	nvsp_attach(g, 1500);
	rndis_init(g);
	guest_learn_mac(g);
	before = sim_cpu_ticks(&g->sim);
	assert_true(before >= 0);
	/* a second of the NIC up but filtering everything */
	end = sim_now_ms() + 1000;
	while (sim_now_ms() < end)
		usleep(10000); /* the time measured, not a synchronisation */
	used = sim_cpu_ticks(&g->sim) - before;
	if (used * 4 >= sysconf(_SC_CLK_TCK))
		fail_msg("the simulator used %ld of %ld ticks waiting for a packet filter", used,
			 sysconf(_SC_CLK_TCK));
	assert_int_equal(rndis_set(g, RNDIS_OID_GEN_CURRENT_PACKET_FILTER, &filter, 4),
			 RNDIS_STATUS_SUCCESS);
	assert_true(recv_frames(g, g->c, got, lens, 375) > 0);
	assert_int_equal(lens[0], 200);
}

static void test_sink(void **state)
{
	struct guest *g = guest_new("--wire", "sink", NULL);
	struct vmbus_pkt pkt;
	uint8_t f[100];
	int i;

	(void)state;
	guest_close(g);
	assert_int_equal(sim_stop(&g->sim), 0);
	assert_int_equal(sim_start(&g->sim, "--wire", "sink", NULL), 0);
	guest_open(g, 0);
	nic_up(g, 1500);
	for (i = 0; i < 20; i++) {
		make_frame(g, f, sizeof(f), (uint32_t)i);
		send_frame(g, g->c, 4, f, sizeof(f));
		expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
	}
	assert_true(sim_wait_stats(&g->sim, "wire sink: 20 frames from the guest, 0 to it", 5000));
	assert_int_equal(vmbus_chan_recv(g->c, g->buf, sizeof(g->buf), &pkt), -EAGAIN);
}

static void test_pcap(void **state)
{
	char path[64], spec[80];
	struct guest *g;
	uint8_t f[3][200], rec[16], data[256];
	uint32_t hdr[6];
	FILE *cap;
	int i;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/vmbus-pcap-%d.pcap", (int)getpid());
	snprintf(spec, sizeof(spec), "pcap:%s", path);
	g = guest_new("--wire", spec, NULL);
	nic_up(g, 1500);
	for (i = 0; i < 3; i++) {
		make_frame(g, f[i], 60 + 50 * (size_t)i, (uint32_t)i);
		send_frame(g, g->c, 4, f[i], 60 + 50 * (uint32_t)i);
		expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
	}
	assert_true(sim_wait_stats(&g->sim, "wire pcap: 3 frames from the guest", 5000));
	cap = fopen(path, "rb");
	unlink(path);
	assert_non_null(cap);
	/* classic pcap: magic, version 2.4, snap length, Ethernet */
	assert_int_equal(fread(hdr, sizeof(hdr), 1, cap), 1);
	assert_int_equal(hdr[0], 0xa1b2c3d4u);
	assert_int_equal(hdr[1], 0x00040002u);
	assert_int_equal(hdr[5], 1);
	for (i = 0; i < 3; i++) {
		uint32_t caplen, len;

		assert_int_equal(fread(rec, sizeof(rec), 1, cap), 1);
		memcpy(&caplen, rec + 8, 4);
		memcpy(&len, rec + 12, 4);
		assert_int_equal(caplen, 60 + 50 * (uint32_t)i);
		assert_int_equal(len, caplen);
		assert_int_equal(fread(data, caplen, 1, cap), 1);
		assert_memory_equal(data, f[i], caplen);
	}
	assert_int_equal(fread(rec, 1, 1, cap), 0);
	fclose(cap);
}

/* An AF_PACKET socket on @ifname, which is brought up. */
static int tap_socket(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct ifreq ifr;
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	assert_true(fd >= 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	assert_int_equal(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	assert_true(sll.sll_ifindex > 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return fd;
}

static void test_tap(void **state)
{
	char ifname[IFNAMSIZ], spec[32];
	struct guest *g;
	uint8_t f[120], in[2048];
	static uint8_t got[1][2048];
	uint32_t lens[1];
	int fd, i;
	bool seen = false;

	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "# test_tap: skipped: a TAP interface needs root\n");
		skip();
	}
	snprintf(ifname, sizeof(ifname), "vmbt%d", (int)getpid() % 100000);
	snprintf(spec, sizeof(spec), "tap:%s", ifname);
	g = guest_new("--wire", spec, NULL);
	nic_up(g, 1500);
	fd = tap_socket(ifname);

	/* the host's network stack to the guest */
	make_frame(g, f, sizeof(f), 77);
	memcpy(f, g->mac, 6); /* to the NIC */
	memset(f + 6, 0, 6);
	f[6] = 0x02;
	f[11] = 0x44;
	assert_int_equal(send(fd, f, sizeof(f), 0), (ssize_t)sizeof(f));
	assert_int_equal(recv_frames(g, g->c, got, lens, 1), 1);
	assert_int_equal(lens[0], sizeof(f));
	assert_memory_equal(got[0], f, sizeof(f));

	/* the guest to the host's network stack */
	make_frame(g, f, sizeof(f), 78);
	send_frame(g, g->c, 4, f, sizeof(f));
	expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
	for (i = 0; i < 50 && !seen; i++) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		/* the interface may carry the kernel's own traffic too */
		if (poll(&pfd, 1, 5000) != 1)
			break;
		n = recv(fd, in, sizeof(in), 0);
		seen = n == (ssize_t)sizeof(f) && !memcmp(in, f, sizeof(f));
	}
	assert_true(seen);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_gen, guest_free),
		cmocka_unit_test_teardown(test_gen_waits_for_filter, guest_free),
		cmocka_unit_test_teardown(test_sink, guest_free),
		cmocka_unit_test_teardown(test_pcap, guest_free),
		cmocka_unit_test_teardown(test_tap, guest_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
