/* SPDX-License-Identifier: MIT */
/*
 * DPDK's netvsc PMD, unmodified, on the standard rte_eth_* API: the
 * program tests/sim/test_dpdk runs against vmbus-hostsim's simulated tree
 * (testpmd of DPDK 22.11 forwards nothing there, this checks every frame).
 *
 *   netvsc-dpdk [EAL options] -- [--queues N] [--frames N]
 *
 * Takes the first port, configures N queues (RSS over IPv4 and UDP when
 * N > 1), waits for the link, sends the frames (IPv4/UDP, one flow each,
 * sizes from 60 to 1514 bytes so that both the host's send sections and
 * GPA-direct page references carry them) spread over the queues to the
 * host's echo wire and checks that every one comes back once, unchanged
 * but for the swapped MAC addresses.  Prints one line per step and
 * "netvsc-dpdk: ok" at the end; exits 0 only then.
 */
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

/* Receive queue entries: more than frames can be in flight, as the PMD
 * drops what does not fit (hn_rxpkt: "rx ring full"). */
#define NB_RX_DESC 1024
#define NB_TX_DESC 512
#define MAX_QUEUES 8
#define MAX_FRAMES 1000
#define PEER_MAC { 0x02, 0x00, 0x00, 0x5e, 0x10, 0x01 }

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("netvsc-dpdk: FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return 1;
}

/* The size of frame @i: 60..1514, every tenth a full one. */
static uint16_t frame_size(unsigned int i)
{
	return i % 10 == 9 ? 1514 : (uint16_t)(60 + (i * 97) % 1400);
}

static uint8_t pattern(unsigned int i, unsigned int k)
{
	return (uint8_t)(i * 31 + k * 7);
}

/* Frame @i: to the peer, IPv4/UDP with source port 1024 + i, the index in
 * the first payload bytes and a pattern after it. */
static struct rte_mbuf *make_frame(struct rte_mempool *mp, const struct rte_ether_addr *self,
				   unsigned int i)
{
	static const uint8_t peer[6] = PEER_MAC;
	uint16_t len = frame_size(i);
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	uint8_t *payload;
	unsigned int k;

	if (!m)
		return NULL;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, len);
	if (!eth) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(eth->dst_addr.addr_bytes, peer, 6);
	rte_ether_addr_copy(self, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(len - sizeof(*eth)));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(0x0a000002);
	ip->dst_addr = rte_cpu_to_be_32(0x0a000001);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp = (struct rte_udp_hdr *)(ip + 1);
	udp->src_port = rte_cpu_to_be_16((uint16_t)(1024 + i));
	udp->dst_port = rte_cpu_to_be_16(9);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(len - sizeof(*eth) - sizeof(*ip)));
	udp->dgram_cksum = 0;
	payload = (uint8_t *)(udp + 1);
	memcpy(payload, &i, sizeof(i));
	for (k = sizeof(i); k < len - sizeof(*eth) - sizeof(*ip) - sizeof(*udp); k++)
		payload[k] = pattern(i, k);
	return m;
}

/* Checks a frame that came back; returns its index or -1. */
static int check_frame(struct rte_mbuf *m, const struct rte_ether_addr *self, unsigned int nframes)
{
	static const uint8_t peer[6] = PEER_MAC;
	const size_t hdrs = sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) +
			    sizeof(struct rte_udp_hdr);
	const uint8_t *p;
	unsigned int i, k;

	if (m->nb_segs != 1 || m->pkt_len < hdrs + sizeof(i))
		return -1;
	p = rte_pktmbuf_mtod(m, const uint8_t *);
	if (memcmp(p, self->addr_bytes, 6) || memcmp(p + 6, peer, 6))
		return -1;
	memcpy(&i, p + hdrs, sizeof(i));
	if (i >= nframes || m->pkt_len != frame_size(i))
		return -1;
	for (k = sizeof(i); k < m->pkt_len - hdrs; k++)
		if (p[hdrs + k] != pattern(i, k))
			return -1;
	return (int)i;
}

/* What came back: each frame checked and counted once. */
struct rx_count {
	uint8_t seen[MAX_FRAMES];
	unsigned int got, bad, dup;
	unsigned int per_queue[MAX_QUEUES];
};

/* Takes every frame waiting on the @queues queues of @port; with @kick, first
 * lets the PMD finish its transmit work on each. */
static void receive(struct rx_count *rc, uint16_t port, unsigned int queues,
		    const struct rte_ether_addr *self, unsigned int nframes, bool kick)
{
	unsigned int q;

	for (q = 0; q < queues; q++) {
		struct rte_mbuf *rx[32];
		uint16_t r, k;

		if (kick)
			rte_eth_tx_burst(port, (uint16_t)q, NULL, 0);
		r = rte_eth_rx_burst(port, (uint16_t)q, rx, 32);
		for (k = 0; k < r; k++) {
			int idx = check_frame(rx[k], self, nframes);

			if (idx < 0)
				rc->bad++;
			else if (rc->seen[idx]++)
				rc->dup++;
			else
				rc->got++;
			rc->per_queue[q]++;
			rte_pktmbuf_free(rx[k]);
		}
	}
}

int main(int argc, char **argv)
{
	static struct rx_count rc;
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	struct rte_eth_link link;
	struct rte_eth_stats stats;
	struct rte_ether_addr mac;
	struct rte_mempool *mp;
	unsigned int queues = 1, nframes = 256, i;
	char mac_s[RTE_ETHER_ADDR_FMT_SIZE];
	uint64_t deadline;
	uint16_t port = 0, q;
	int n, opt;

	n = rte_eal_init(argc, argv);
	if (n < 0)
		return fail("rte_eal_init: %s", rte_strerror(rte_errno));
	argc -= n;
	argv += n;
	static const struct option longopts[] = { { "queues", required_argument, NULL, 'q' },
						  { "frames", required_argument, NULL, 'f' },
						  { NULL, 0, NULL, 0 } };
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == 'q')
			queues = (unsigned int)strtoul(optarg, NULL, 0);
		else if (opt == 'f')
			nframes = (unsigned int)strtoul(optarg, NULL, 0);
		else
			return fail("usage: netvsc-dpdk [EAL options] -- [--queues N] [--frames N]");
	}
	if (!queues || queues > MAX_QUEUES || !nframes || nframes > MAX_FRAMES)
		return fail("--queues 1..%d, --frames 1..%d", MAX_QUEUES, MAX_FRAMES);

	if (rte_eth_dev_count_avail() < 1)
		return fail("no port: DPDK found no netvsc device");
	if (rte_eth_dev_info_get(port, &info))
		return fail("rte_eth_dev_info_get");
	printf("netvsc-dpdk: port %u driver %s, up to %u rx and %u tx queues\n", port,
	       info.driver_name, info.max_rx_queues, info.max_tx_queues);
	if (strcmp(info.driver_name, "net_netvsc"))
		return fail("port 0 is %s, not DPDK's netvsc PMD", info.driver_name);
	if (queues > info.max_rx_queues || queues > info.max_tx_queues)
		return fail("%u queues asked, the port has %u", queues, info.max_rx_queues);

	mp = rte_pktmbuf_pool_create("frames", 4095, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     (int)rte_socket_id());
	if (!mp)
		return fail("rte_pktmbuf_pool_create: %s", rte_strerror(rte_errno));
	if (queues > 1) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV4_TCP) &
			info.flow_type_rss_offloads;
	}
	n = rte_eth_dev_configure(port, (uint16_t)queues, (uint16_t)queues, &conf);
	if (n)
		return fail("rte_eth_dev_configure: %s", rte_strerror(-n));
	for (q = 0; q < queues; q++) {
		if ((n = rte_eth_rx_queue_setup(port, q, NB_RX_DESC, rte_eth_dev_socket_id(port), NULL,
						mp)) ||
		    (n = rte_eth_tx_queue_setup(port, q, NB_TX_DESC, rte_eth_dev_socket_id(port), NULL)))
			return fail("queue %u setup: %s", q, rte_strerror(-n));
	}
	n = rte_eth_dev_start(port);
	if (n)
		return fail("rte_eth_dev_start: %s", rte_strerror(-n));
	rte_eth_macaddr_get(port, &mac);
	rte_ether_format_addr(mac_s, sizeof(mac_s), &mac);
	printf("netvsc-dpdk: started with %u queues, MAC %s\n", queues, mac_s);

	deadline = now_ms() + 10000;
	do {
		rte_eth_link_get_nowait(port, &link);
		if (link.link_status == RTE_ETH_LINK_UP)
			break;
		usleep(10000);
	} while (now_ms() < deadline);
	if (link.link_status != RTE_ETH_LINK_UP)
		return fail("the link did not come up in 10 s");
	printf("netvsc-dpdk: link up, %u Mbps\n", link.link_speed);

	for (i = 0; i < nframes;) {
		struct rte_mbuf *m = make_frame(mp, &mac, i);
		uint16_t txq = (uint16_t)(i % queues);

		if (!m)
			return fail("out of mbufs at frame %u", i);
		deadline = now_ms() + 5000;
		while (rte_eth_tx_burst(port, txq, &m, 1) != 1) {
			if (now_ms() > deadline)
				return fail("queue %u takes no frame (frame %u)", txq, i);
			usleep(100);
		}
		i++;
		/* take what came back meanwhile, so that the host's echo never waits */
		receive(&rc, port, queues, &mac, nframes, false);
	}
	printf("netvsc-dpdk: sent %u frames\n", nframes);
	deadline = now_ms() + 10000;
	while (rc.got < nframes && now_ms() < deadline) {
		/* the PMD does its transmit completions' work from tx_burst too */
		receive(&rc, port, queues, &mac, nframes, true);
	}
	printf("netvsc-dpdk: received %u of %u frames back (%u wrong, %u twice); per queue:", rc.got,
	       nframes, rc.bad, rc.dup);
	for (q = 0; q < queues; q++)
		printf(" %u", rc.per_queue[q]);
	putchar('\n');
	if (!rte_eth_stats_get(port, &stats))
		printf("netvsc-dpdk: port stats: ipackets %" PRIu64 " opackets %" PRIu64
		       " ierrors %" PRIu64 " oerrors %" PRIu64 "\n",
		       stats.ipackets, stats.opackets, stats.ierrors, stats.oerrors);
	if (rc.got != nframes || rc.bad || rc.dup) {
		unsigned int shown = 0;

		printf("netvsc-dpdk: missing:");
		for (i = 0; i < nframes && shown < 16; i++)
			if (!rc.seen[i]) {
				printf(" %u (%u bytes)", i, frame_size(i));
				shown++;
			}
		putchar('\n');
		return fail("frames lost or changed");
	}
	if (queues > 1) {
		for (q = 0; q < queues && rc.per_queue[q]; q++)
			;
		if (q < queues)
			return fail("queue %u received nothing: RSS spread no flow to it", q);
	}
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
	rte_eal_cleanup();
	printf("netvsc-dpdk: ok\n");
	return 0;
}
