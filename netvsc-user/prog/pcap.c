/* SPDX-License-Identifier: MIT */
/*
 * netvsc-user pcap FILE: received frames to a classic pcap capture, from
 * every queue's thread under one lock.  The file is created only once the
 * device is attached (a wrong GUID leaves an existing capture alone), and
 * the first write error ends the program at once (the watcher flushes the
 * capture every tick), not at exit.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "prog.h"

/* Notes the first write error; later frames are not written. */
static void pcap_failed(struct app *a, int err)
{
	int none = 0;

	atomic_compare_exchange_strong(&a->pcap_err, &none, err ? err : EIO);
}

/* Creates the capture file with its header, written through at once. */
int pcap_open(struct app *a)
{
	/* classic pcap: magic, version 2.4, no zone, snap 65535, Ethernet */
	const uint32_t hdr[6] = { 0xa1b2c3d4u, 0x00040002u, 0, 0, 65535, 1 };

	a->pcap = fopen(a->c.arg, "wb");
	if (!a->pcap || fwrite(hdr, sizeof(hdr), 1, a->pcap) != 1 || fflush(a->pcap)) {
		fprintf(stderr, "netvsc-user: cannot write %s: %s\n", a->c.arg, strerror(errno));
		if (a->pcap)
			fclose(a->pcap);
		a->pcap = NULL;
		return EXIT_FAIL;
	}
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
	if (!atomic_load(&a->pcap_err) &&
	    (fwrite(rec, sizeof(rec), 1, a->pcap) != 1 || fwrite(fr->data, fr->len, 1, a->pcap) != 1))
		pcap_failed(a, errno);
	pthread_mutex_unlock(&a->pcap_lock);
}

/* Pushes what is buffered to the file, so an error shows now. */
void pcap_flush(struct app *a)
{
	if (!a->pcap)
		return;
	pthread_mutex_lock(&a->pcap_lock);
	if (!atomic_load(&a->pcap_err) && fflush(a->pcap))
		pcap_failed(a, errno);
	pthread_mutex_unlock(&a->pcap_lock);
}

/* Closes the capture; EXIT_FAIL if what was written did not reach it. */
int pcap_close(struct app *a)
{
	int err;

	if (!a->pcap)
		return EXIT_OK;
	err = fclose(a->pcap) ? errno : 0;
	a->pcap = NULL;
	pthread_mutex_destroy(&a->pcap_lock);
	if (atomic_load(&a->pcap_err))
		return EXIT_FAIL; /* said when it happened */
	if (!err)
		return EXIT_OK;
	fprintf(stderr, "netvsc-user: writing %s: %s\n", a->c.arg, strerror(err));
	return EXIT_FAIL;
}
