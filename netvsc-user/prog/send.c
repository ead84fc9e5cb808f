/* SPDX-License-Identifier: MIT */
/*
 * netvsc-user: sending one frame.  Frames up to a send section's size are
 * copied into the section by libnetvsc; larger ones (jumbo frames) go
 * GPA-direct from page memory of the queue's own, in DMA_SLOTS slots that
 * ops.tx_done hands back.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "prog.h"

/* Page memory for the queue's frames larger than a send section, when the
 * MTU allows such frames. */
void dma_setup(struct qctx *qc)
{
	struct app *a = qc->app;
	int ret;

	/* only when frames can be larger than a send section */
	if (a->info.mtu + NETVSC_ETH_HLEN + 4 + 128 <= a->info.tx_section_size)
		return;
	ret = vmbus_dma_alloc(netvsc_vmbus(a->nd), DMA_SLOTS * DMA_SLOT, &qc->dma);
	if (ret) {
		if (!a->dma_warned)
			fprintf(stderr,
				"netvsc-user: %s: frames larger than %u bytes cannot be sent: %s\n",
				a->c.guid, a->info.tx_section_size - 128,
				vmbus_dev_strerror(netvsc_vmbus(a->nd)));
		a->dma_warned = true;
		qc->dma = NULL;
		return;
	}
	qc->dma_free = DMA_SLOTS == 64 ? UINT64_MAX : (1ull << DMA_SLOTS) - 1;
}

/* ops.tx_done: the host is done with a page slot. */
void on_tx_done(void *arg, unsigned int queue, uint64_t cookie, int status)
{
	struct app *a = arg;

	(void)status;
	if (queue < a->nq && cookie < DMA_SLOTS)
		a->q[queue].dma_free |= 1ull << cookie;
}

/* Sends one frame; -EAGAIN means not taken (try again after a poll). */
int send_frame(struct qctx *qc, const uint8_t *f, uint32_t len, unsigned int flags)
{
	struct app *a = qc->app;
	struct vmbus_gpa_buf buf;
	struct netvsc_tx_pages p = { .bufs = &buf, .nbufs = 1 };
	uint64_t pfns[8];
	unsigned int slot;
	uint8_t *mem;
	int ret = netvsc_send(a->nd, qc->idx, f, len, NULL, flags);

	if (ret == 0)
		CNT_ADD(qc->taken, 1);
	if (ret != -EMSGSIZE || !qc->dma || len > DMA_SLOT)
		return ret;
	if (!qc->dma_free)
		return -EAGAIN;
	slot = (unsigned int)__builtin_ctzll(qc->dma_free);
	mem = (uint8_t *)vmbus_dma_addr(qc->dma) + (size_t)slot * DMA_SLOT;
	memcpy(mem, f, len);
	if (vmbus_dma_gpa(qc->dma, mem, len, &buf, pfns, 8) < 0)
		return -EMSGSIZE;
	p.cookie = slot;
	ret = netvsc_send_pages(a->nd, qc->idx, &p);
	if (ret == 0) {
		qc->dma_free &= ~(1ull << slot);
		CNT_ADD(qc->taken, 1);
	}
	return ret;
}
