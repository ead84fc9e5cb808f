/* SPDX-License-Identifier: MIT */
/*
 * netvsc-user gen, and --verify in gen and sink: frames of the gen format
 * (genframe.h) at a size, count and rate, spread over the queues; every
 * frame received is checked, ours and vmbus-hostsim's, and gen --verify
 * expects each one back exactly once.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include <genframe.h>

#include "prog.h"

/* Gen: a burst of frames, within the rate; returns frames taken. */
unsigned int gen_burst(struct qctx *qc, uint8_t *f, int *wait_ms)
{
	struct app *a = qc->app;
	uint64_t quota = qc->app->c.count ? (a->c.count - qc->idx + a->nq - 1) / a->nq : UINT64_MAX;
	unsigned int n = 0;

	*wait_ms = 200;
	while (n < BURST && qc->sent < quota) {
		uint64_t seq = qc->idx + qc->sent * a->nq;
		int ret;

		/*
		 * Checking that every frame comes back: keep no more in flight
		 * than the receive buffer holds, as an echoing host drops what
		 * it has no receive slot for (so would any switch).
		 */
		if (a->c.verify && a->seen &&
		    atomic_load(&a->gen_sent) - atomic_load(&a->seen_count) >= a->window) {
			*wait_ms = 1;
			break;
		}

		if (a->c.rate) {
			/* this queue's share of the rate, from its start */
			uint64_t due = qc->start_ns + qc->sent * 1000000000ull * a->nq / a->c.rate;
			uint64_t t = now_ns();

			if (due > t) {
				*wait_ms = (int)((due - t) / 1000000u);
				break;
			}
		}
		genframe_build(f, a->c.size, a->info.mac, seq);
		ret = send_frame(qc, f, a->c.size, NETVSC_SEND_MORE);
		if (ret == -EAGAIN)
			break;
		if (ret < 0) {
			CNT_ADD(qc->dropped, 1);
			break;
		}
		qc->sent++;
		atomic_fetch_add(&a->gen_sent, 1);
		n++;
	}
	return n;
}

/* --verify: a frame received; counts it when it is a gen frame. */
void note_received(struct qctx *qc, const uint8_t *f, uint32_t len)
{
	struct app *a = qc->app;
	uint64_t seq;
	int r;

	if (!a->c.verify)
		return;
	r = genframe_check(f, len, &seq);
	if (r < 0) {
		CNT_ADD(qc->bad, 1);
		return;
	}
	if (r == 0)
		return;
	CNT_ADD(qc->checked, 1);
	if (a->seen && seq < a->c.count) {
		if (__atomic_fetch_add(&a->seen[seq], 1, __ATOMIC_RELAXED))
			atomic_fetch_add(&a->seen_dup, 1);
		else
			atomic_fetch_add(&a->seen_count, 1);
	}
}

/* The verdict of --verify: EXIT_OK, or EXIT_CHECK after saying what failed. */
int verify_report(struct app *a)
{
	uint64_t want = a->c.count;

	if (a->mode_bad || atomic_load(&a->seen_dup) ||
	    (a->c.mode == MODE_GEN && want && atomic_load(&a->seen_count) < want) ||
	    (a->c.mode == MODE_SINK && want && a->mode_checked < want)) {
		fprintf(stderr,
			"netvsc-user: %s: verification failed: %" PRIu64 " of %" PRIu64
			" frames back intact, %" PRIu64 " damaged, %" PRIu64 " duplicated\n",
			a->c.guid,
			a->c.mode == MODE_GEN ? (uint64_t)atomic_load(&a->seen_count) :
						a->mode_checked,
			want, a->mode_bad, (uint64_t)atomic_load(&a->seen_dup));
		return EXIT_CHECK;
	}
	if (!a->c.json)
		fprintf(stderr, "netvsc-user: %s: verified %" PRIu64 " frames: all intact\n",
			a->c.guid,
			a->c.mode == MODE_GEN ? (uint64_t)atomic_load(&a->seen_count) :
						a->mode_checked);
	return EXIT_OK;
}
