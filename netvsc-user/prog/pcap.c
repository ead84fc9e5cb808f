/* SPDX-License-Identifier: MIT */
/*
 * netvsc-user pcap FILE: received frames to a classic pcap capture, from
 * every queue's thread under one lock.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "prog.h"

/* Creates the capture file with its header. */
int pcap_open(struct app *a)
{
	/* classic pcap: magic, version 2.4, no zone, snap 65535, Ethernet */
	const uint32_t hdr[6] = { 0xa1b2c3d4u, 0x00040002u, 0, 0, 65535, 1 };

	a->pcap = fopen(a->c.arg, "wb");
	if (!a->pcap) {
		fprintf(stderr, "netvsc-user: cannot write %s: %s\n", a->c.arg, strerror(errno));
		return EXIT_FAIL;
	}
	fwrite(hdr, sizeof(hdr), 1, a->pcap);
	pthread_mutex_init(&a->pcap_lock, NULL);
	return EXIT_OK;
}

void pcap_write(struct app *a, const struct netvsc_rx_frame *fr)
{
	struct timespec ts;
	uint32_t rec[4];

	clock_gettime(CLOCK_REALTIME, &ts);
	rec[0] = (uint32_t)ts.tv_sec;
	rec[1] = (uint32_t)(ts.tv_nsec / 1000);
	rec[2] = rec[3] = fr->len;
	pthread_mutex_lock(&a->pcap_lock);
	fwrite(rec, sizeof(rec), 1, a->pcap);
	fwrite(fr->data, fr->len, 1, a->pcap);
	pthread_mutex_unlock(&a->pcap_lock);
}

/* Closes the capture; EXIT_FAIL if what was written did not reach it. */
int pcap_close(struct app *a)
{
	if (!a->pcap || !fclose(a->pcap))
		return EXIT_OK;
	fprintf(stderr, "netvsc-user: writing %s: %s\n", a->c.arg, strerror(errno));
	return EXIT_FAIL;
}
