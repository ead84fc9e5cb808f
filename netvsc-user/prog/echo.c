/* SPDX-License-Identifier: MIT */
/*
 * netvsc-user echo: every received frame goes back with its addresses
 * swapped, in order; what the ring has no room for waits in a backlog of
 * BACKLOG frames per queue (beyond that it is dropped and counted).
 */
#include <errno.h>
#include <string.h>

#include "prog.h"

static void echo_keep(struct qctx *qc, const uint8_t *f, uint32_t len)
{
	unsigned int at;

	if (qc->bcount == BACKLOG || len > qc->slot_size) {
		CNT_ADD(qc->dropped, 1);
		return;
	}
	at = (qc->bhead + qc->bcount) % BACKLOG;
	memcpy(qc->backlog + (size_t)at * qc->slot_size, f, len);
	qc->blen[at] = len;
	qc->bcount++;
}

/* A frame received on @qc's queue: back to where it came from. */
void echo_rx(struct qctx *qc, const struct netvsc_rx_frame *fr)
{
	uint8_t tmp[9216 + 4];

	if (fr->len > sizeof(tmp))
		return;
	memcpy(tmp, (const uint8_t *)fr->data + 6, 6);
	memcpy(tmp + 6, fr->data, 6);
	memcpy(tmp + 12, (const uint8_t *)fr->data + 12, fr->len - 12);
	/* in order: behind what waits already */
	if (qc->bcount || send_frame(qc, tmp, fr->len, NETVSC_SEND_MORE) == -EAGAIN)
		echo_keep(qc, tmp, fr->len);
}

/* Sends what waits in the backlog while the queue takes it; returns how
 * many frames left. */
unsigned int echo_backlog(struct qctx *qc)
{
	unsigned int n = 0;

	while (qc->bcount) {
		unsigned int at = qc->bhead;

		if (send_frame(qc, qc->backlog + (size_t)at * qc->slot_size, qc->blen[at],
			       NETVSC_SEND_MORE) == -EAGAIN)
			break;
		qc->bhead = (qc->bhead + 1) % BACKLOG;
		qc->bcount--;
		n++;
	}
	return n;
}
