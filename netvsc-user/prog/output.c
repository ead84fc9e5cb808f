/* SPDX-License-Identifier: MIT */
/*
 * netvsc-user output: what the attach learnt (info) and the per-queue
 * statistics, as text or, with --json, one JSON object per line.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <netvsc/proto.h>

#include "prog.h"

static const char *nvsp_name(uint32_t v)
{
	switch (v) {
	case NVSP_VERSION_1:
		return "1";
	case NVSP_VERSION_2:
		return "2";
	case NVSP_VERSION_4:
		return "4";
	case NVSP_VERSION_5:
		return "5";
	case NVSP_VERSION_6:
		return "6";
	case NVSP_VERSION_61:
		return "6.1";
	default:
		return "?";
	}
}

void print_info(const struct app *a)
{
	const struct netvsc_info *in = &a->info;
	char mac[18];
	unsigned int i;

	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", in->mac[0], in->mac[1],
		 in->mac[2], in->mac[3], in->mac[4], in->mac[5]);
	if (a->c.json) {
		printf("{\"type\":\"info\",\"device\":\"%s\",\"mac\":\"%s\",\"mtu\":%u,"
		       "\"mtu_requested\":%u,\"mtu_host\":%u,\"link_up\":%s,\"link_speed_bps\":%" PRIu64
		       ",\"nvsp_version\":\"%s\",\"nvsp_version_raw\":%u,\"ndis_version\":\"%u.%u\","
		       "\"rndis_version\":\"%u.%u\",\"rx_buffer\":%" PRIu64 ",\"rx_section_size\":%u,"
		       "\"rx_sections\":%u,\"tx_buffer\":%" PRIu64 ",\"tx_section_size\":%u,"
		       "\"tx_sections\":%u,\"rndis_max_pkts\":%u,\"rndis_max_xfer\":%u,"
		       "\"rndis_align\":%u,\"queues\":%u,\"queues_requested\":%u,"
		       "\"queues_host_max\":%u,\"rss\":%s,\"rss_indirection\":%u,"
		       "\"tx_csum\":%u,\"rx_csum\":%s,\"packet_filter\":%u,\"relid\":%u,"
		       "\"monitored\":%s,\"simulated\":%s,\"uio\":\"%s\",\"ring_size\":%zu,"
		       "\"control_by_page\":%s,\"subchannels_granted\":%u,"
		       "\"subchannels_opened\":%u,\"send_table\":[",
		       in->guid, mac, in->mtu, in->mtu_requested, in->mtu_host,
		       in->link_up ? "true" : "false", in->link_speed_bps, nvsp_name(in->nvsp_version),
		       in->nvsp_version, in->ndis_version >> 16, in->ndis_version & 0xffff,
		       in->rndis_major, in->rndis_minor, in->rx_buf_size, in->rx_section_size,
		       in->rx_section_count, in->tx_buf_size, in->tx_section_size,
		       in->tx_section_count, in->rndis_max_pkts, in->rndis_max_xfer, in->rndis_align,
		       in->queues, in->queues_requested, in->queues_host_max,
		       in->rss ? "true" : "false", in->rss_indirection_size, in->tx_csum,
		       in->rx_csum ? "true" : "false", in->packet_filter, in->relid,
		       in->monitored ? "true" : "false", in->simulated ? "true" : "false",
		       in->uio_name, in->ring_size, in->control_by_page ? "true" : "false",
		       in->subchannels_granted, in->subchannels_opened);
		for (i = 0; in->send_table_valid && i < 16; i++)
			printf("%s%u", i ? "," : "", in->send_table[i]);
		printf("]}\n");
		fflush(stdout);
		return;
	}
	printf("device        %s (relid %u, %s, %s%s)\n", in->guid, in->relid,
	       in->monitored ? "monitored" : "not monitored", in->uio_name,
	       in->simulated ? ", simulated" : "");
	printf("mac           %s\n", mac);
	printf("mtu           %u (asked %u, host %u)\n", in->mtu, in->mtu_requested, in->mtu_host);
	printf("link          %s, %" PRIu64 " Mbit/s\n", in->link_up ? "up" : "down",
	       in->link_speed_bps / 1000000u);
	printf("protocol      NVSP %s (0x%x), NDIS %u.%u, RNDIS %u.%u\n", nvsp_name(in->nvsp_version),
	       in->nvsp_version, in->ndis_version >> 16, in->ndis_version & 0xffff, in->rndis_major,
	       in->rndis_minor);
	printf("receive       %" PRIu64 " bytes: %u slots of %u\n", in->rx_buf_size,
	       in->rx_section_count, in->rx_section_size);
	printf("send          %" PRIu64 " bytes: %u sections of %u\n", in->tx_buf_size,
	       in->tx_section_count, in->tx_section_size);
	printf("aggregation   %u frames, %u bytes, %u-byte alignment per message\n",
	       in->rndis_max_pkts, in->rndis_max_xfer, in->rndis_align);
	printf("queues        %u (asked %u", in->queues, in->queues_requested);
	if (in->queues_host_max)
		printf(", host offers up to %u, indirection table of %u", in->queues_host_max,
		       in->rss_indirection_size);
	printf(")%s\n", in->rss ? ", RSS: Toeplitz over IPv4/IPv6 addresses and TCP ports" : "");
	if (in->send_table_valid) {
		printf("send table   ");
		for (i = 0; i < 16; i++)
			printf(" %u", in->send_table[i]);
		printf("\n");
	}
	printf("offloads      transmit checksums:%s%s%s%s; receive checksums %s\n",
	       in->tx_csum & NETVSC_TX_CSUM_IP4 ? " IPv4" : "",
	       in->tx_csum & NETVSC_TX_CSUM_TCP ? " TCP" : "",
	       in->tx_csum & NETVSC_TX_CSUM_UDP ? " UDP" : "",
	       in->tx_csum & NETVSC_TX_IPV6 ? " (and over IPv6)" : (in->tx_csum ? "" : " none"),
	       in->rx_csum ? "validated by the host" : "not validated");
	printf("filter        0x%x\n", in->packet_filter);
	printf("control       %s\n", in->control_by_page ?
					     "RNDIS by page reference from DMA memory" :
					     "RNDIS in send sections (no DMA memory)");
	fflush(stdout);
}

void print_stats(struct app *a, const char *kind, double secs)
{
	struct netvsc_queue_stats s = { .sz = sizeof(s) }, sum;
	unsigned int i, n = a->nq;
	uint64_t checked = a->mode_checked, bad = a->mode_bad;

	/* the session running now, on top of the past ones */
	for (i = 0; a->nd && i < n; i++) {
		checked += CNT_GET(a->q[i].checked);
		bad += CNT_GET(a->q[i].bad);
	}

	memset(&sum, 0, sizeof(sum));
	if (a->c.json)
		printf("{\"type\":\"%s\",\"seconds\":%.3f,\"queues\":[", kind, secs);
	else
		printf("-- %s after %.2f s --\n%-5s %12s %14s %8s %8s %12s %14s %8s %8s %8s\n", kind,
		       secs, "queue", "rx packets", "rx bytes", "rx drop", "rx err", "tx packets",
		       "tx bytes", "tx drop", "tx err", "tx busy");
	for (i = 0; i < n; i++) {
		memset(&s, 0, sizeof(s));
		s.sz = sizeof(s);
		if (a->nd)
			netvsc_stats(a->nd, i, &s);
#define ADD(f) s.f += a->total[i].f
		ADD(rx_packets);
		ADD(rx_bytes);
		ADD(rx_drops);
		ADD(rx_errors);
		ADD(tx_packets);
		ADD(tx_bytes);
		ADD(tx_drops);
		ADD(tx_errors);
		ADD(tx_busy);
		ADD(tx_msgs);
		ADD(tx_pages);
#undef ADD
		if (a->c.json)
			printf("%s{\"queue\":%u,\"rx_packets\":%" PRIu64 ",\"rx_bytes\":%" PRIu64
			       ",\"rx_drops\":%" PRIu64 ",\"rx_errors\":%" PRIu64
			       ",\"tx_packets\":%" PRIu64 ",\"tx_bytes\":%" PRIu64
			       ",\"tx_drops\":%" PRIu64 ",\"tx_errors\":%" PRIu64
			       ",\"tx_busy\":%" PRIu64 ",\"tx_msgs\":%" PRIu64 ",\"tx_pages\":%" PRIu64
			       "}",
			       i ? "," : "", i, s.rx_packets, s.rx_bytes, s.rx_drops, s.rx_errors,
			       s.tx_packets, s.tx_bytes, s.tx_drops, s.tx_errors, s.tx_busy, s.tx_msgs,
			       s.tx_pages);
		else
			printf("%-5u %12" PRIu64 " %14" PRIu64 " %8" PRIu64 " %8" PRIu64 " %12" PRIu64
			       " %14" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n",
			       i, s.rx_packets, s.rx_bytes, s.rx_drops, s.rx_errors, s.tx_packets,
			       s.tx_bytes, s.tx_drops, s.tx_errors, s.tx_busy);
		sum.rx_packets += s.rx_packets;
		sum.tx_packets += s.tx_packets;
	}
	if (a->c.json) {
		printf("],\"rx_packets\":%" PRIu64 ",\"tx_packets\":%" PRIu64, sum.rx_packets,
		       sum.tx_packets);
		if (a->c.verify)
			printf(",\"checked\":%" PRIu64 ",\"damaged\":%" PRIu64, checked, bad);
		printf("}\n");
	} else if (a->c.verify) {
		printf("checked %" PRIu64 " frames, %" PRIu64 " damaged\n", checked, bad);
	}
	fflush(stdout);
}
