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

/* Length of the UTF-8 sequence at @p (1..4), or 0 if it is not one. */
static int utf8_len(const unsigned char *p)
{
	int n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* no overlong forms, no surrogates, nothing past U+10FFFF */
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
		return 0;
	return n;
}

void json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (*p) {
		int n = utf8_len(p);

		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else if (n)
			fwrite(p, 1, (size_t)n, f);
		else
			fputs("\\ufffd", f);
		p += n ? n : 1;
	}
	fputc('"', f);
}

void print_info(const struct app *a)
{
	const struct netvsc_info *in = &a->info;
	char mac[18], uio[sizeof(in->uio_name)];
	unsigned int i;

	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", in->mac[0], in->mac[1],
		 in->mac[2], in->mac[3], in->mac[4], in->mac[5]);
	if (a->c.json) {
		/* every string is the host's or the sysfs tree's: escaped */
		printf("{\"type\":\"info\",\"device\":");
		json_str(stdout, in->guid);
		printf(",\"mac\":\"%s\",\"mtu\":%u,"
		       "\"mtu_requested\":%u,\"mtu_host\":%u,\"link_up\":%s,\"link_speed_bps\":%" PRIu64
		       ",\"nvsp_version\":\"%s\",\"nvsp_version_raw\":%u,\"ndis_version\":\"%u.%u\","
		       "\"rndis_version\":\"%u.%u\",\"rx_buffer\":%" PRIu64 ",\"rx_section_size\":%u,"
		       "\"rx_sections\":%u,\"tx_buffer\":%" PRIu64 ",\"tx_section_size\":%u,"
		       "\"tx_sections\":%u,\"rndis_max_pkts\":%u,\"rndis_max_xfer\":%u,"
		       "\"rndis_align\":%u,\"queues\":%u,\"queues_requested\":%u,"
		       "\"queues_host_max\":%u,\"rss\":%s,\"rss_indirection\":%u,"
		       "\"tx_csum\":%u,\"rx_csum\":%s,\"packet_filter\":%u,\"relid\":%u,"
		       "\"monitored\":%s,\"simulated\":%s,\"uio\":",
		       mac, in->mtu, in->mtu_requested, in->mtu_host,
		       in->link_up ? "true" : "false", in->link_speed_bps, nvsp_name(in->nvsp_version),
		       in->nvsp_version, in->ndis_version >> 16, in->ndis_version & 0xffff,
		       in->rndis_major, in->rndis_minor, in->rx_buf_size, in->rx_section_size,
		       in->rx_section_count, in->tx_buf_size, in->tx_section_size,
		       in->tx_section_count, in->rndis_max_pkts, in->rndis_max_xfer, in->rndis_align,
		       in->queues, in->queues_requested, in->queues_host_max,
		       in->rss ? "true" : "false", in->rss_indirection_size, in->tx_csum,
		       in->rx_csum ? "true" : "false", in->packet_filter, in->relid,
		       in->monitored ? "true" : "false", in->simulated ? "true" : "false");
		json_str(stdout, in->uio_name);
		printf(",\"ring_size\":%zu,\"control_by_page\":%s,\"subchannels_granted\":%u,"
		       "\"subchannels_opened\":%u,\"send_table\":[",
		       in->ring_size, in->control_by_page ? "true" : "false",
		       in->subchannels_granted, in->subchannels_opened);
		for (i = 0; in->send_table_valid && i < 16; i++)
			printf("%s%u", i ? "," : "", in->send_table[i]);
		printf("]}\n");
		fflush(stdout);
		return;
	}
	/* the name is sysfs's: no control characters reach the terminal */
	snprintf(uio, sizeof(uio), "%s", in->uio_name);
	for (i = 0; uio[i]; i++)
		if ((unsigned char)uio[i] < 0x20 || uio[i] == 0x7f)
			uio[i] = '?';
	printf("device        %s (relid %u, %s, %s%s)\n", in->guid, in->relid,
	       in->monitored ? "monitored" : "not monitored", uio,
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
	uint64_t checked = a->mode_checked, bad = a->mode_bad, taken = a->taken_total;

	/* the session running now, on top of the past ones */
	for (i = 0; a->nd && i < n; i++) {
		checked += CNT_GET(a->q[i].checked);
		bad += CNT_GET(a->q[i].bad);
		taken += CNT_GET(a->q[i].taken);
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
		ADD(rx_oversize);
#undef ADD
		if (a->c.json)
			printf("%s{\"queue\":%u,\"rx_packets\":%" PRIu64 ",\"rx_bytes\":%" PRIu64
			       ",\"rx_drops\":%" PRIu64 ",\"rx_errors\":%" PRIu64
			       ",\"tx_packets\":%" PRIu64 ",\"tx_bytes\":%" PRIu64
			       ",\"tx_drops\":%" PRIu64 ",\"tx_errors\":%" PRIu64
			       ",\"tx_busy\":%" PRIu64 ",\"tx_msgs\":%" PRIu64 ",\"tx_pages\":%" PRIu64
			       ",\"rx_oversize\":%" PRIu64 "}",
			       i ? "," : "", i, s.rx_packets, s.rx_bytes, s.rx_drops, s.rx_errors,
			       s.tx_packets, s.tx_bytes, s.tx_drops, s.tx_errors, s.tx_busy, s.tx_msgs,
			       s.tx_pages, s.rx_oversize);
		else
			printf("%-5u %12" PRIu64 " %14" PRIu64 " %8" PRIu64 " %8" PRIu64 " %12" PRIu64
			       " %14" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n",
			       i, s.rx_packets, s.rx_bytes, s.rx_drops, s.rx_errors, s.tx_packets,
			       s.tx_bytes, s.tx_drops, s.tx_errors, s.tx_busy);
		sum.rx_packets += s.rx_packets;
		sum.tx_packets += s.tx_packets;
		sum.tx_drops += s.tx_drops;
		sum.rx_oversize += s.rx_oversize;
	}
	/*
	 * Every frame taken for sending is delivered (tx_packets), failed by
	 * the host (tx_drops) or lost: in flight when its session ended.
	 */
	if (a->c.json) {
		printf("],\"rx_packets\":%" PRIu64 ",\"tx_packets\":%" PRIu64 ",\"taken\":%" PRIu64
		       ",\"tx_drops\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"rx_oversize\":%" PRIu64,
		       sum.rx_packets, sum.tx_packets, taken, sum.tx_drops, a->lost_total,
		       sum.rx_oversize);
		if (a->c.verify)
			printf(",\"checked\":%" PRIu64 ",\"damaged\":%" PRIu64, checked, bad);
		printf("}\n");
	} else {
		if (a->c.verify)
			printf("checked %" PRIu64 " frames, %" PRIu64 " damaged\n", checked, bad);
		if (sum.rx_oversize)
			printf("received %" PRIu64 " frames longer than the MTU allows: dropped\n",
			       sum.rx_oversize);
		if (a->lost_total)
			printf("%" PRIu64 " frames taken for sending were never completed: in flight "
			       "when a session ended\n",
			       a->lost_total);
	}
	fflush(stdout);
}
