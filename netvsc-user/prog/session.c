/* SPDX-License-Identifier: MIT */
/*
 * netvsc-user: a session.  Attaches with libnetvsc (with --reattach, waits
 * for the device until it is offered, also after a rescind), runs the mode
 * with one thread per queue, and watches from the main thread: signals,
 * the device's state, the end conditions (--count, --time), statistics.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netvsc/proto.h>

#include "prog.h"

/* The watcher's clocks, over every session of a run. */
struct watch {
	uint64_t t0, last_stats, gen_done_ns, last_rx, last_rx_ns;
};

static void on_rx(void *arg, const struct netvsc_rx_frame *fr)
{
	struct app *a = arg;
	struct qctx *qc = &a->q[fr->queue];

	note_received(qc, fr->data, fr->len);
	switch (a->c.mode) {
	case MODE_ECHO:
		echo_rx(qc, fr);
		break;
	case MODE_TAP:
		tap_write(qc, fr);
		break;
	case MODE_PCAP:
		pcap_write(a, fr);
		break;
	default:
		break;
	}
}

static void on_event(void *arg, const struct netvsc_event *ev)
{
	struct app *a = arg;

	switch (ev->type) {
	case NETVSC_EV_LINK:
		if (a->c.json)
			printf("{\"type\":\"event\",\"event\":\"link\",\"up\":%s}\n",
			       ev->link_up ? "true" : "false");
		else
			fprintf(stderr, "netvsc-user: %s: link %s\n", a->c.guid,
				ev->link_up ? "up" : "down");
		fflush(stdout);
		if (a->c.mode == MODE_TAP)
			tap_carrier(a, ev->link_up);
		break;
	case NETVSC_EV_LINK_SPEED:
		fprintf(stderr, "netvsc-user: %s: link speed %" PRIu64 " Mbit/s\n", a->c.guid,
			ev->speed_bps / 1000000u);
		break;
	case NETVSC_EV_GONE:
	case NETVSC_EV_BROKEN:
		/* the watcher ends the session; the queues see the state */
		atomic_store(&a->dead, ev->error);
		break;
	default:
		break;
	}
}

/*
 * A queue's thread ends on @err while the session runs: unless the device
 * died (its state, which the watcher reports), the first such error ends
 * the program with its own message and exit code.  A thread never just
 * stops: the watcher would wait forever for a queue nobody serves.
 */
static void queue_failed(struct qctx *qc, int err, const char *what)
{
	struct app *a = qc->app;

	if (!atomic_load(&a->run) || netvsc_state(a->nd))
		return;
	if (atomic_flag_test_and_set(&a->qerr_claimed))
		return;
	a->qerr_queue = qc->idx;
	a->qerr_what = what;
	atomic_store(&a->qerr, err);
}

/* A queue's thread: services the queue and feeds it what the mode sends. */
static void *worker(void *arg)
{
	struct qctx *qc = arg;
	struct app *a = qc->app;
	uint8_t *f = malloc(9216 + 64);

	if (!f) {
		queue_failed(qc, -ENOMEM, "starting");
		return NULL;
	}
	qc->start_ns = now_ns();
	while (atomic_load(&a->run)) {
		int n, w, wait_ms = 200, fd = a->stop_fd;
		bool progress;

		n = netvsc_poll(a->nd, qc->idx, 256);
		if (n < 0) {
			queue_failed(qc, n, "while polling");
			break;
		}
		progress = n > 0;
		switch (a->c.mode) {
		case MODE_ECHO:
			if (echo_backlog(qc))
				progress = true;
			break;
		case MODE_GEN:
			if (gen_burst(qc, f, &wait_ms))
				progress = true;
			break;
		case MODE_TAP:
			if (tap_read(qc))
				progress = true;
			/* a frame held back waits for the queue, not the TAP */
			fd = qc->held_len ? -1 : qc->tap_fd;
			wait_ms = 100; /* and look at the stop flag now and then */
			break;
		default:
			break;
		}
		if (netvsc_flush(a->nd, qc->idx) < 0 && netvsc_state(a->nd))
			break;
		if (progress)
			continue;
		w = netvsc_wait(a->nd, qc->idx, fd, wait_ms);
		if (w < 0) {
			queue_failed(qc, w, "while waiting for the host");
			break;
		}
	}
	free(f);
	return NULL;
}

static int exit_for(int err)
{
	switch (err) {
	case 0:
		return EXIT_OK;
	case -ENOENT:
	case -ENODEV:
	case -ENXIO:
		return EXIT_GONE;
	/* what the host (or the sysfs it describes the device in) said is
	 * wrong, however the layer that found it calls it */
	case -EPROTO:
	case -ETIMEDOUT:
	case -EBADMSG:
	case -ERANGE:
		return EXIT_PROTO;
	case -EINVAL:
		return EXIT_USAGE;
	default:
		return EXIT_FAIL;
	}
}

/* Attaches; with --reattach, waits for the device until it is there. */
static int attach(struct app *a, bool again)
{
	bool wait_for_offer = a->c.reattach;
	static struct netvsc_ops ops = { .sz = sizeof(ops),
					 .rx = on_rx,
					 .event = on_event,
					 .tx_done = on_tx_done };
	struct netvsc_opts o = { .sz = sizeof(o) };
	char err[512];
	bool said = false;
	int ret;

	ops.arg = a;
	o.root = a->c.root;
	o.queues = a->c.queues;
	o.mtu = a->c.mtu;
	o.nvsp_max = a->c.nvsp_max;
	o.timeout_ms = a->c.timeout_ms;
	o.packet_filter = a->c.promisc ? NDIS_PACKET_TYPE_PROMISCUOUS : 0;
	o.ops = &ops;
	o.errbuf = err;
	o.errbuf_len = sizeof(err);
	for (;;) {
		ret = netvsc_attach(a->c.guid, &o, &a->nd);
		if (ret == 0)
			break;
		/* not there (yet), or there only in part while it is offered */
		if (!wait_for_offer || atomic_load(&stopping) ||
		    (ret != -ENOENT && ret != -ENODEV && ret != -ENXIO && ret != -EBADMSG)) {
			fprintf(stderr, "netvsc-user: %s\n", err);
			return ret;
		}
		if (!said)
			fprintf(stderr, "netvsc-user: %s: waiting for the device to be offered\n",
				a->c.guid);
		said = true;
		usleep(20000); /* polling for a directory, bounded by the signal */
	}
	a->info.sz = sizeof(a->info);
	netvsc_info(a->nd, &a->info);
	a->nq = netvsc_queues(a->nd);
	if (a->info.notice[0])
		fprintf(stderr, "netvsc-user: %s: %s\n", a->c.guid, a->info.notice);
	if (again)
		fprintf(stderr, "netvsc-user: %s: attached again\n", a->c.guid);
	return 0;
}

/* Frames taken and not completed yet, over every queue. */
static uint64_t in_flight(struct app *a)
{
	struct netvsc_queue_stats s = { .sz = sizeof(s) };
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < a->nq; i++) {
		netvsc_stats(a->nd, i, &s);
		n += s.tx_inflight;
	}
	return n;
}

/*
 * The threads are gone: while the device lives, let the host complete what
 * is in flight (2 s at most, as libnetvsc's detach), so that every frame
 * taken ends up counted as delivered, failed, or lost.
 */
static void drain(struct app *a)
{
	uint64_t ms = a->c.timeout_ms < 2000 ? (uint64_t)a->c.timeout_ms : 2000u;
	uint64_t end = now_ns() + ms * 1000000u;
	unsigned int i;

	while (!netvsc_state(a->nd) && in_flight(a) && now_ns() < end) {
		for (i = 0; i < a->nq; i++) {
			netvsc_flush(a->nd, i);
			if (netvsc_poll(a->nd, i, 0) < 0)
				return;
		}
		netvsc_wait(a->nd, 0, -1, 10);
	}
}

static void session_end(struct app *a)
{
	unsigned int i;

	atomic_store(&a->run, false);
	for (i = 0; i < a->nq; i++) {
		if (a->q[i].started)
			pthread_join(a->q[i].th, NULL);
		a->q[i].started = false;
	}
	drain(a);
	for (i = 0; i < a->nq; i++) {
		struct netvsc_queue_stats s = { .sz = sizeof(s) };

		netvsc_stats(a->nd, i, &s);
		a->taken_total += a->q[i].taken;
		a->lost_total += s.tx_inflight;
		a->q[i].taken = 0;
		a->total[i].rx_packets += s.rx_packets;
		a->total[i].rx_bytes += s.rx_bytes;
		a->total[i].rx_drops += s.rx_drops;
		a->total[i].rx_errors += s.rx_errors;
		a->total[i].tx_packets += s.tx_packets;
		a->total[i].tx_bytes += s.tx_bytes;
		a->total[i].tx_drops += s.tx_drops;
		a->total[i].tx_errors += s.tx_errors;
		a->total[i].tx_busy += s.tx_busy;
		a->total[i].tx_msgs += s.tx_msgs;
		a->total[i].tx_pages += s.tx_pages;
		a->total[i].rx_oversize += s.rx_oversize;
		a->mode_dropped += a->q[i].dropped;
		a->mode_checked += a->q[i].checked;
		a->mode_bad += a->q[i].bad;
		a->q[i].dropped = a->q[i].checked = a->q[i].bad = 0;
	}
}

static void session_free(struct app *a)
{
	unsigned int i;

	/* detach sends what is queued, then frees; then the page memory */
	netvsc_detach(a->nd);
	a->nd = NULL;
	for (i = 0; i < NETVSC_MAX_QUEUES; i++) {
		if (a->q[i].dma)
			vmbus_dma_free(a->q[i].dma);
		a->q[i].dma = NULL;
		free(a->q[i].backlog);
		free(a->q[i].held);
		a->q[i].backlog = a->q[i].held = NULL;
		a->q[i].bcount = a->q[i].bhead = 0;
		a->q[i].held_len = 0;
	}
	if (a->c.mode == MODE_TAP)
		tap_close(a);
}

static uint64_t total_rx(struct app *a)
{
	struct netvsc_queue_stats s = { .sz = sizeof(s) };
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < a->nq; i++) {
		netvsc_stats(a->nd, i, &s);
		n += s.rx_packets + a->total[i].rx_packets;
	}
	return n;
}

static bool tx_idle(struct app *a)
{
	struct netvsc_queue_stats s = { .sz = sizeof(s) };
	unsigned int i;

	for (i = 0; i < a->nq; i++) {
		netvsc_stats(a->nd, i, &s);
		if (s.tx_inflight)
			return false;
	}
	return true;
}

/* Starts the queues' threads.  Returns EXIT_OK, or an exit code after
 * freeing the session. */
static int session_start(struct app *a)
{
	unsigned int i;

	if (a->c.mode == MODE_TAP && tap_open(a)) {
		session_free(a);
		return EXIT_FAIL;
	}
	atomic_store(&a->dead, 0);
	atomic_store(&a->qerr, 0);
	atomic_flag_clear(&a->qerr_claimed);
	atomic_store(&a->run, true);
	a->window = a->info.rx_section_count / 2 > BURST ? a->info.rx_section_count / 2 : BURST;
	for (i = 0; i < a->nq; i++) {
		struct qctx *qc = &a->q[i];

		qc->app = a;
		qc->idx = i;
		qc->slot_size = a->info.mtu + NETVSC_ETH_HLEN + 4;
		qc->backlog = malloc((size_t)BACKLOG * qc->slot_size);
		qc->held = malloc(qc->slot_size);
		if (!qc->backlog || !qc->held) {
			fprintf(stderr, "netvsc-user: out of memory\n");
			session_end(a);
			session_free(a);
			return EXIT_FAIL;
		}
		dma_setup(qc);
		if (pthread_create(&qc->th, NULL, worker, qc)) {
			fprintf(stderr, "netvsc-user: cannot start a thread\n");
			session_end(a);
			session_free(a);
			return EXIT_FAIL;
		}
		qc->started = true;
	}
	return EXIT_OK;
}

/* Watches until the session ends: signals, the device, the end conditions,
 * statistics. */
static void watch(struct app *a, struct watch *w)
{
	for (;;) {
		uint64_t t = now_ns(), rx;
		double secs = (double)(t - w->t0) / 1e9;

		if (atomic_load(&stopping) || atomic_load(&a->dead) || netvsc_state(a->nd) ||
		    atomic_load(&a->qerr))
			break;
		pcap_flush(a);
		if (atomic_load(&a->pcap_err))
			break;
		if (a->c.seconds > 0 && secs >= a->c.seconds)
			break;
		rx = total_rx(a);
		if (rx != w->last_rx) {
			w->last_rx = rx;
			w->last_rx_ns = t;
		}
		if (a->c.mode == MODE_GEN && a->c.count && atomic_load(&a->gen_sent) >= a->c.count) {
			if (!w->gen_done_ns)
				w->gen_done_ns = t;
			/* everything completed; with --verify, everything back too,
			 * or nothing new for two seconds */
			if (tx_idle(a) &&
			    (!a->c.verify || atomic_load(&a->seen_count) >= a->c.count ||
			     t - w->last_rx_ns > 2000000000ull))
				break;
			if (t - w->gen_done_ns > (uint64_t)a->c.timeout_ms * 1000000u)
				break;
		}
		if (a->c.mode != MODE_GEN && a->c.count && rx >= a->c.count)
			break;
		if (a->c.stats && t - w->last_stats >= 1000000000u) {
			w->last_stats = t;
			print_stats(a, "stats", secs);
		}
		usleep(20000); /* the watcher's tick; the queues sleep on interrupts */
	}
}

/* Runs the mode until the end; returns the exit code. */
int run(struct app *a)
{
	struct watch w = { 0 };
	bool reattaching = false;
	int rc = EXIT_OK, ret;

	w.t0 = w.last_stats = w.last_rx_ns = now_ns();
	for (;;) {
		ret = attach(a, reattaching);
		if (ret)
			return atomic_load(&stopping) ? EXIT_OK : exit_for(ret);
		if (a->c.mode == MODE_INFO) {
			print_info(a);
			session_free(a);
			return EXIT_OK;
		}
		if (!reattaching) {
			if (a->c.json)
				print_info(a);
			else
				fprintf(stderr,
					"netvsc-user: %s: attached: NVSP 0x%x, %u queue(s), MTU %u, link "
					"%s\n",
					a->info.guid, a->info.nvsp_version, a->nq, a->info.mtu,
					a->info.link_up ? "up" : "down");
		}
		if (a->c.mode == MODE_GEN && a->c.size > a->info.mtu + NETVSC_ETH_HLEN) {
			fprintf(stderr, "netvsc-user: --size %u is larger than the MTU allows (%u)\n",
				a->c.size, a->info.mtu + NETVSC_ETH_HLEN);
			session_free(a);
			return EXIT_USAGE;
		}
		/* only now: a device that is not there leaves an old capture alone */
		if (a->c.mode == MODE_PCAP && !a->pcap && pcap_open(a)) {
			session_free(a);
			return EXIT_FAIL;
		}
		rc = session_start(a);
		if (rc)
			return rc;
		watch(a, &w);
		ret = atomic_load(&a->dead) ? atomic_load(&a->dead) : netvsc_state(a->nd);
		session_end(a);
		if (ret) {
			fprintf(stderr, "netvsc-user: %s\n", netvsc_strerror(a->nd));
			if (ret == -ENODEV && a->c.reattach && !atomic_load(&stopping)) {
				session_free(a);
				reattaching = true;
				continue;
			}
			rc = exit_for(ret);
		} else if (atomic_load(&a->qerr)) {
			ret = atomic_load(&a->qerr);
			fprintf(stderr, "netvsc-user: %s: queue %u stopped %s: %s\n", a->info.guid,
				a->qerr_queue, a->qerr_what, strerror(-ret));
			rc = exit_for(ret);
		} else if (atomic_load(&a->pcap_err)) {
			fprintf(stderr, "netvsc-user: writing %s: %s\n", a->c.arg,
				strerror(atomic_load(&a->pcap_err)));
			rc = EXIT_FAIL;
		}
		session_free(a);
		break;
	}
	if (a->c.verify && rc == EXIT_OK)
		rc = verify_report(a);
	print_stats(a, "final", (double)(now_ns() - w.t0) / 1e9);
	return rc;
}
