/* SPDX-License-Identifier: MIT */
/*
 * Linux's own hv_netvsc (Debian's module, unchanged) on vmbus-hostsim's
 * NetVSP through the stand-in hv_vmbus: the reference guest on our host.
 * The host's wire is a TAP interface that lives in a peer network
 * namespace of the guest, so hv_netvsc's interface and the peer are two
 * real network stacks with the host between them.
 *
 * Checked: hv_netvsc binds and creates its interface with the host's MAC
 * address and MTU, and turns on the checksum offload and TSO the host
 * offers; the link comes up and follows the host's link-down and link-up;
 * ping and checked TCP streams over IPv4 and IPv6 reach the peer and come
 * back (TSO frames the host segments, sent by page reference); every queue
 * carries frames both ways, and ethtool -L takes the interface down to one
 * queue (which carries them) and back to all, with traffic; a jumbo MTU and an 802.1Q VLAN carry checked streams;
 * and hv_netvsc logged no error.
 */
#include <linux/ethtool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ktest.h"

#define PORT 5201
#define HOST_IP "10.77.0.1"
#define PEER_IP "10.77.0.2"
#define HOST_IP6 "fd77::1"
#define PEER_IP6 "fd77::2"
#define VLAN 7
#define HOST_VIP "10.78.0.1"
#define PEER_VIP "10.78.0.2"
#define MAX_QUEUES 8

static char ifn[IFNAMSIZ];

static uint64_t queue_stat(const char *what, unsigned int q)
{
	char name[ETH_GSTRING_LEN];
	uint64_t v = 0;
	int err;

	snprintf(name, sizeof(name), "%s_queue_%u_packets", what, q);
	err = kt_ethtool_stat(ifn, name, &v);
	KT_ASSERT(!err, "ethtool -S %s: %s: %s", ifn, name, strerror(-err));
	return v;
}

/*
 * Checked TCP streams until each of the @n queues has carried frames both
 * ways: the host spreads flows over the queues by their hash, so a few
 * streams reach them all; 64 without that mean it does not.
 */
static void every_queue(unsigned int n, unsigned int *stream)
{
	uint64_t tx0[MAX_QUEUES], rx0[MAX_QUEUES];
	unsigned int q, tries, missing = n;
	int rc;

	for (q = 0; q < n; q++) {
		tx0[q] = queue_stat("tx", q);
		rx0[q] = queue_stat("rx", q);
	}
	for (tries = 0; tries < 64 && missing; tries++) {
		rc = kt_tcp_echo(PEER_IP, PORT, ++*stream, 64u << 10);
		KT_ASSERT(rc == 0, "stream %u to the peer: %s", *stream, strerror(-rc));
		for (q = 0, missing = 0; q < n; q++)
			missing += queue_stat("tx", q) == tx0[q] || queue_stat("rx", q) == rx0[q];
	}
	if (missing) {
		char stats[4096];

		/* what the host saw, for the message below */
		if (kt_hostsim_ctl_out(stats, sizeof(stats), "stats", NULL) == 0)
			printf("# vmbus-hostsim stats:\n%s", stats);
	}
	for (q = 0; q < n; q++)
		KT_ASSERT(queue_stat("tx", q) > tx0[q] && queue_stat("rx", q) > rx0[q],
			  "queue %u of %u carried frames both ways in %u streams: tx %llu -> %llu, "
			  "rx %llu -> %llu", q, n, tries, (unsigned long long)tx0[q],
			  (unsigned long long)queue_stat("tx", q), (unsigned long long)rx0[q],
			  (unsigned long long)queue_stat("rx", q));
	kt_note("%u queue(s) carried frames both ways in %u stream(s)", n, tries);
}

static void set_queues(unsigned int n)
{
	unsigned int combined = 0, max = 0;
	int err;

	err = kt_ethtool_set_channels(ifn, n);
	KT_ASSERT(!err, "ethtool -L %s combined %u: %s", ifn, n, strerror(-err));
	/* hv_netvsc closes and opens the device again: wait for the link */
	KT_ASSERT(kt_wait_carrier(ifn, true, KT_TIMEOUT_MS), "%s has a carrier again", ifn);
	err = kt_ethtool_channels(ifn, &combined, &max);
	KT_ASSERT(!err && combined == n, "%s has %u queue(s), asked %u", ifn, combined, n);
}

int main(int argc, char **argv)
{
	static const char *const sim_args[] = { "--wire", "tap:kt0", "--queues", "8", "-v", NULL };
	char guid[37], buf[64], want_mac[18], stats[4096];
	unsigned int combined = 0, max = 0, stream = 0, want;
	int rc, kmsg;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	kt_init(argc, argv, "Linux's hv_netvsc on vmbus-hostsim: link, traffic, queues, MTU, VLAN");
	kt_netvsc_load();
	kt_peer_start(PORT);
	kmsg = kt_netvsc_instance(guid, sim_args, ifn);
	/* vmbus-hostsim's MAC: 02 and the last five bytes of the instance GUID */
	snprintf(want_mac, sizeof(want_mac), "02:%.2s:%.2s:%.2s:%.2s:%.2s", guid + 26, guid + 28,
		 guid + 30, guid + 32, guid + 34);
	KT_ASSERT(kt_readf(buf, sizeof(buf), "/sys/class/net/%s/address", ifn) > 0 &&
			  !strcmp(buf, want_mac),
		  "%s has the host's MAC address %s: %s", ifn, want_mac, buf);
	/* the largest frame the host takes until the guest asks for more */
	KT_ASSERT(kt_read_u64("/sys/class/net/%s/mtu", ifn) == 1500, "%s has the host's MTU 1500",
		  ifn);
	KT_ASSERT(kt_ethtool_flag(ifn, ETHTOOL_GTXCSUM) == 1 && kt_ethtool_flag(ifn, ETHTOOL_GTSO) == 1,
		  "%s sends with the checksum offload and TSO the host offers", ifn);

	kt_peer_take("kt0", PEER_IP "/24", 0);
	KT_ASSERT(kt_peer_sh("ip addr add " PEER_IP6 "/64 dev kt0") == 0, "peer IPv6 address");
	KT_ASSERT(kt_sh("ip addr add " HOST_IP "/24 dev %s && ip addr add " HOST_IP6
			"/64 dev %s && ip link set %s up", ifn, ifn, ifn) == 0,
		  "%s configured and up", ifn);
	KT_ASSERT(kt_wait_carrier(ifn, true, KT_TIMEOUT_MS), "%s has a carrier", ifn);
	rc = kt_sh("ping -c 3 -w 60 " PEER_IP);
	KT_ASSERT(rc == 0, "ping of the peer through hv_netvsc and the host: exit %d", rc);
	rc = kt_tcp_echo(PEER_IP, PORT, ++stream, 4u << 20);
	KT_ASSERT(rc == 0, "4 MiB echoed by the peer over IPv4, checked: %s", strerror(-rc));
	/* IPv6 duplicate address detection must finish before the address works */
	rc = kt_sh("ping -c 1 -w 60 " PEER_IP6);
	KT_ASSERT(rc == 0, "ping of the peer over IPv6: exit %d", rc);
	rc = kt_tcp_echo(PEER_IP6, PORT, ++stream, 1u << 20);
	KT_ASSERT(rc == 0, "1 MiB echoed over IPv6, checked: %s", strerror(-rc));

	/* queues: one per CPU up to the host's offer (hv_netvsc: max_chn), each used both ways */
	want = (unsigned int)(cpus < MAX_QUEUES ? cpus : MAX_QUEUES);
	KT_ASSERT(!kt_ethtool_channels(ifn, &combined, &max), "ethtool -l %s", ifn);
	KT_ASSERT(combined == want && max == want,
		  "%s has %u queue(s) of at most %u: one per CPU (%ld) up to the host's %u", ifn,
		  combined, max, cpus, MAX_QUEUES);
	every_queue(combined, &stream);
	if (combined > 1) {
		set_queues(1);
		every_queue(1, &stream);
		set_queues(combined);
		/*
		 * Back to all queues.  Debian's 6.1 hv_netvsc sends its RSS
		 * parameters again with an all-zero key here: the one-queue
		 * device never set RSS, so it had no key to hand on (its
		 * netvsc_devinfo_get copies the old device's key).  Toeplitz
		 * over a zero key is 0 for every flow, so the host (this one,
		 * or Hyper-V computing the same function) sends every frame to
		 * table entry 0's queue.  With a key, every queue must carry
		 * frames both ways again.
		 */
		KT_ASSERT(kt_hostsim_ctl_out(stats, sizeof(stats), "stats", NULL) == 0,
			  "vmbus-hostsim ctl stats");
		if (strstr(stats, "the key is all zero")) {
			uint64_t rx0[MAX_QUEUES];
			unsigned int q;

			for (q = 0; q < combined; q++)
				rx0[q] = queue_stat("rx", q);
			rc = kt_tcp_echo(PEER_IP, PORT, ++stream, 1u << 20);
			KT_ASSERT(rc == 0, "1 MiB echoed on %u queues again: %s", combined,
				  strerror(-rc));
			for (q = 0; q < combined; q++)
				KT_ASSERT((queue_stat("rx", q) > rx0[q]) == (q == 0),
					  "with an all-zero RSS key, queue %u received %llu -> %llu",
					  q, (unsigned long long)rx0[q],
					  (unsigned long long)queue_stat("rx", q));
			kt_note("hv_netvsc set RSS with an all-zero key after ethtool -L: every "
				"frame to the guest went to queue 0");
		} else {
			every_queue(combined, &stream);
		}
	}

	/* link state from the host */
	KT_ASSERT(kt_hostsim_ctl("link-down", NULL) == 0, "vmbus-hostsim ctl link-down");
	KT_ASSERT(kt_wait_carrier(ifn, false, KT_TIMEOUT_MS), "%s lost its carrier", ifn);
	KT_ASSERT(kt_hostsim_ctl("link-up", NULL) == 0, "vmbus-hostsim ctl link-up");
	KT_ASSERT(kt_wait_carrier(ifn, true, KT_TIMEOUT_MS), "%s has its carrier back", ifn);
	rc = kt_tcp_echo(PEER_IP, PORT, ++stream, 256u << 10);
	KT_ASSERT(rc == 0, "traffic after the link came back: %s", strerror(-rc));

	/* a jumbo MTU: the host agrees to it, frames above a send section go by page */
	KT_ASSERT(kt_peer_sh("ip link set kt0 mtu 9000") == 0, "peer MTU 9000");
	KT_ASSERT(kt_sh("ip link set %s mtu 9000", ifn) == 0, "%s MTU 9000", ifn);
	KT_ASSERT(kt_wait_carrier(ifn, true, KT_TIMEOUT_MS), "%s has a carrier at MTU 9000", ifn);
	KT_ASSERT(kt_read_u64("/sys/class/net/%s/mtu", ifn) == 9000, "%s has MTU 9000", ifn);
	KT_ASSERT(kt_hostsim_ctl_out(stats, sizeof(stats), "stats", NULL) == 0 &&
			  strstr(stats, "mtu 9000,"),
		  "the host took MTU 9000: %s", stats);
	rc = kt_sh("ping -c 2 -s 8000 -w 60 " PEER_IP);
	KT_ASSERT(rc == 0, "8000-byte pings: exit %d", rc);
	rc = kt_tcp_echo(PEER_IP, PORT, ++stream, 2u << 20);
	KT_ASSERT(rc == 0, "2 MiB echoed at MTU 9000, checked: %s", strerror(-rc));

	/* 802.1Q: the tag travels in the RNDIS packet's PPI both ways */
	KT_ASSERT(kt_peer_sh("ip link add link kt0 name kt0.%d type vlan id %d", VLAN, VLAN) == 0 &&
			  kt_peer_sh("ip addr add " PEER_VIP "/24 dev kt0.%d", VLAN) == 0 &&
			  kt_peer_sh("ip link set kt0.%d up", VLAN) == 0,
		  "peer VLAN %d", VLAN);
	KT_ASSERT(kt_sh("ip link add link %s name vl%d type vlan id %d", ifn, VLAN, VLAN) == 0 &&
			  kt_sh("ip addr add " HOST_VIP "/24 dev vl%d && ip link set vl%d up", VLAN,
				VLAN) == 0,
		  "VLAN %d on %s", VLAN, ifn);
	rc = kt_sh("ping -c 2 -w 60 " PEER_VIP);
	KT_ASSERT(rc == 0, "ping over VLAN %d: exit %d", VLAN, rc);
	rc = kt_tcp_echo(PEER_VIP, PORT, ++stream, 1u << 20);
	KT_ASSERT(rc == 0, "1 MiB echoed over VLAN %d, checked: %s", VLAN, strerror(-rc));
	KT_ASSERT(kt_sh("ip link del vl%d", VLAN) == 0, "VLAN removed");

	KT_ASSERT(kt_kmsg_errors(kmsg, "hv_netvsc") == 0, "hv_netvsc logged no error");
	kt_note("hv_netvsc carried %u checked streams on %s", stream, ifn);
	kt_pass();
}
