/* SPDX-License-Identifier: MIT */
/*
 * The bring-up and tear-down sequences of a synthetic NIC, in the order of
 * Linux hv_netvsc (netvsc_connect_vsp, rndis_filter_device_add; then
 * rndis_filter_device_remove, netvsc_device_remove) and DPDK's hn_attach:
 * the steps themselves are NVSP's (nvsp.c), RNDIS's (rndis.c) and the
 * queues' (datapath.c).  Also the device's state and error messages, the
 * wait for the host's answers, and the facts the attach learnt.
 *
 * Attach runs on the caller's thread and owns every queue while it runs;
 * the control requests after it (keepalive, the detach sequence) belong
 * to queue 0's thread.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "opts.h"
#include "priv.h"

#define DEFAULT_TIMEOUT_MS 60000
#define DEFAULT_DRAIN_MS 2000
/* Detach's control steps: a host that stopped answering must not hold
 * the caller for a minute. */
#define DETACH_CTL_TIMEOUT_MS 5000

OPTS_CHECK_IN(netvsc_opts);
OPTS_CHECK_IN(netvsc_ops);
OPTS_CHECK_OUT(netvsc_info);

int64_t nv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------ */
/* errors and state                                                          */
/* ------------------------------------------------------------------------ */

/* Says why @nd failed, naming it: "netvsc <guid>: ...".  Returns @err. */
int nv_fail(struct netvsc_dev *nd, int err, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(nd->err, sizeof(nd->err), "netvsc %s: ", nd->guid);

	if (n < 0 || (size_t)n >= sizeof(nd->err))
		return err;
	va_start(ap, fmt);
	vsnprintf(nd->err + n, sizeof(nd->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return err;
}

int nv_live(const struct netvsc_dev *nd)
{
	return atomic_load_explicit(&nd->state, memory_order_acquire);
}

/* The device is dead (-ENODEV or -EPROTO): the first to say so explains,
 * naming it as nv_fail does. */
void nv_dead(struct netvsc_dev *nd, int err, const char *fmt, ...)
{
	int expected = 0;
	va_list ap;
	int n;

	if (!atomic_compare_exchange_strong(&nd->state, &expected, err))
		return;
	n = snprintf(nd->err, sizeof(nd->err), "netvsc %s: ", nd->guid);
	if (n >= 0 && (size_t)n < sizeof(nd->err)) {
		va_start(ap, fmt);
		vsnprintf(nd->err + n, sizeof(nd->err) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	if (nd->ops.event && !atomic_flag_test_and_set(&nd->reported)) {
		struct netvsc_event ev = { .type = err == -ENODEV ? NETVSC_EV_GONE : NETVSC_EV_BROKEN,
					   .error = err,
					   .message = nd->err };

		nd->ops.event(nd->ops.arg, &ev);
	}
}

int netvsc_state(const struct netvsc_dev *nd)
{
	return nd ? nv_live(nd) : -EINVAL;
}

const char *netvsc_strerror(const struct netvsc_dev *nd)
{
	return nd ? nd->err : "";
}

/* ------------------------------------------------------------------------ */
/* waiting for the host during attach and detach                             */
/* ------------------------------------------------------------------------ */

/*
 * Services queue 0 (frames are dropped: nobody takes them yet) until
 * @done(@arg) or @timeout_ms.  Returns 0, -ETIMEDOUT, or a device error.
 */
int nv_wait(struct netvsc_dev *nd, bool (*done)(struct netvsc_dev *, const void *), const void *arg,
	    int timeout_ms)
{
	struct nv_queue *q = &nd->q[0];
	int64_t end = nv_now_ms() + timeout_ms;

	for (;;) {
		int64_t left;
		int ret = nv_service(q, SINK_DROP, 0, NULL, NULL);

		if (ret < 0)
			return ret;
		if (done(nd, arg))
			return 0;
		left = end - nv_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		ret = vmbus_chan_wait(q->chan, (int)left);
		if (ret && ret != -ETIMEDOUT)
			return nv_chan_error(q, ret, "waiting for the host");
	}
}

/* A wait that failed: the message names the step. */
int nv_step_error(struct netvsc_dev *nd, int err, const char *what, int timeout_ms)
{
	if (err == -ETIMEDOUT)
		return nv_fail(nd, err, "the host did not answer %s within %d ms", what,
			       timeout_ms);
	if (nv_live(nd))
		return nv_live(nd); /* nd->err says it already */
	return nv_fail(nd, err, "%s: %s", what, strerror(-err));
}

/* ------------------------------------------------------------------------ */
/* attach                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * Subchannels (NVSP 5) for the queues wanted: RSS spreads over them.  As
 * Linux (rndis_filter_device_add, netvsc_subchan_work), attach goes on with
 * the channels that opened: a host that grants subchannels it never
 * offers leaves fewer queues, down to one with RSS off, and the notice
 * says so.
 */
static int subchannels(struct netvsc_dev *nd, unsigned int want)
{
	struct ndis_rss_caps_info rc;
	uint32_t granted;
	unsigned int n, i;
	int ret, wait_ms;

	if (nd->info.nvsp_version < NVSP_VERSION_5 || nd->ndis_version < NDIS_VERSION_6_30)
		return 0;
	ret = nv_rndis_rss_caps(nd, &rc);
	if (ret)
		return ret < 0 ? ret : 0; /* no RSS: one queue */
	nd->info.queues_host_max = rc.num_rx_queues;
	nd->info.rss_indirection_size = rc.num_indirection;
	n = want;
	if (n > rc.num_rx_queues)
		n = rc.num_rx_queues;
	if (n > rc.num_indirection)
		n = rc.num_indirection;
	if (n > NETVSC_MAX_QUEUES)
		n = NETVSC_MAX_QUEUES;
	if (n <= 1)
		return 0;

	/* the host may grant fewer */
	ret = nv_nvsp_subchannels(nd, n - 1, &granted);
	if (ret || granted == 0)
		return ret;
	nd->info.subchannels_granted = granted;
	wait_ms = nd->timeout_ms < NV_SUBCH_WAIT_MS ? nd->timeout_ms : NV_SUBCH_WAIT_MS;
	ret = vmbus_dev_open_subchans(nd->dev, granted, wait_ms);
	if (ret == -ENODEV)
		return nv_chan_error(&nd->q[0], ret, "opening subchannels");
	if (ret && ret != -ETIMEDOUT)
		return nv_fail(nd, ret, "%s", vmbus_dev_strerror(nd->dev));
	/* queues are subchannel ids: use them up to the first one missing */
	for (i = 1; i <= granted && vmbus_dev_chan(nd->dev, i); i++)
		;
	nd->nq = i;
	nd->info.subchannels_opened = i - 1;
	if (i - 1 < granted)
		nv_notice(nd, "the host granted %u subchannel(s) but %u opened within %d ms: %u "
			      "queue(s)%s",
			  granted, i - 1, wait_ms, i, i == 1 ? ", RSS off" : "");
	return 0;
}

static void fill_info(struct netvsc_dev *nd)
{
	struct netvsc_info *in = &nd->info;

	memcpy(in->guid, nd->guid, sizeof(in->guid));
	in->ndis_version = nd->ndis_version;
	in->rx_buf_size = nd->vinfo.recv_size;
	in->rx_section_size = nd->rx_section_size;
	in->rx_section_count = nd->rx_section_count;
	in->tx_buf_size = nd->vinfo.send_size;
	in->tx_section_size = nd->tx_section_size;
	in->tx_section_count = nd->tx_section_count;
	in->relid = nd->vinfo.relid;
	in->monitored = nd->vinfo.monitor_id != VMBUS_MONITOR_ID_NONE;
	in->simulated = nd->vinfo.simulated;
	snprintf(in->uio_name, sizeof(in->uio_name), "%s", nd->vinfo.uio_name);
	in->ring_size = nd->vinfo.ring_size;
}

static int bring_up(struct netvsc_dev *nd, const struct netvsc_opts *o)
{
	uint32_t filter;
	unsigned int want = o->queues ? o->queues : 1;
	int ret;

	ret = nv_nvsp_init(nd, o->nvsp_max ? o->nvsp_max : NVSP_VERSION_61);
	if (ret)
		return ret;
	ret = nv_nvsp_connect_buffers(nd);
	if (ret)
		return ret;
	nd->buffers = true;
	nv_rndis_control_setup(nd);
	/* queue 0 was made before the host said how large its slots are */
	if (nv_queue_size_rx(&nd->q[0]))
		return nv_fail(nd, -ENOMEM, "out of memory");

	ret = nv_rndis_init(nd);
	if (ret)
		return ret;
	/* DPDK: some hosts keep the filter of a previous session */
	ret = nv_rndis_set_filter(nd, NDIS_PACKET_TYPE_NONE, nd->timeout_ms);
	if (ret)
		return ret;
	ret = nv_rndis_query_facts(nd);
	if (ret)
		return ret;
	/* also for one queue: what the host offers is a fact worth showing */
	ret = subchannels(nd, want);
	if (ret)
		return ret;
	ret = nv_queues_setup(nd);
	if (ret)
		return nv_fail(nd, ret, "out of memory");
	if (nd->nq > 1) {
		ret = nv_rndis_program_rss(nd);
		if (ret)
			return ret;
	}
	ret = nv_rndis_offloads(nd, o->no_offload);
	if (ret)
		return ret;
	filter = o->packet_filter ? o->packet_filter :
				    NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_ALL_MULTICAST |
					    NDIS_PACKET_TYPE_BROADCAST;
	ret = nv_rndis_set_filter(nd, filter, nd->timeout_ms);
	if (ret)
		return ret;
	nd->info.queues = nd->nq;
	return 0;
}

/* The caller's options, each field it has or its default (0, NULL). */
static void opts_take(struct netvsc_opts *o, const struct netvsc_opts *opts)
{
	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->root = OPTS_GET(opts, root, NULL);
	o->queues = OPTS_GET(opts, queues, 0);
	o->mtu = OPTS_GET(opts, mtu, 0);
	o->nvsp_max = OPTS_GET(opts, nvsp_max, 0);
	o->packet_filter = OPTS_GET(opts, packet_filter, 0);
	o->timeout_ms = OPTS_GET(opts, timeout_ms, 0);
	o->drain_ms = OPTS_GET(opts, drain_ms, 0);
	o->no_offload = OPTS_GET(opts, no_offload, false);
	o->ops = OPTS_GET(opts, ops, NULL);
	o->errbuf = OPTS_GET(opts, errbuf, NULL);
	o->errbuf_len = OPTS_GET(opts, errbuf_len, 0);
}

int netvsc_attach(const char *guid, const struct netvsc_opts *opts, struct netvsc_dev **out)
{
	struct netvsc_opts o;
	struct vmbus_dev_opts vo = { .sz = sizeof(vo) };
	struct netvsc_dev *nd;
	char verr[512] = "";
	const char *why;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	opts_take(&o, opts);
	nd = calloc(1, sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	snprintf(nd->guid, sizeof(nd->guid), "%.36s", guid ? guid : "(null)");
	ret = OPTS_VALID(opts, netvsc_opts, &why);
	if (ret) {
		nv_fail(nd, ret, "struct netvsc_opts: %s", why);
		goto fail;
	}
	ret = OPTS_VALID(o.ops, netvsc_ops, &why);
	if (ret) {
		nv_fail(nd, ret, "struct netvsc_ops: %s", why);
		goto fail;
	}
	nd->ops.sz = sizeof(nd->ops);
	nd->ops.rx = OPTS_GET(o.ops, rx, NULL);
	nd->ops.tx_done = OPTS_GET(o.ops, tx_done, NULL);
	nd->ops.event = OPTS_GET(o.ops, event, NULL);
	nd->ops.arg = OPTS_GET(o.ops, arg, NULL);
	nd->timeout_ms = o.timeout_ms > 0 ? o.timeout_ms : DEFAULT_TIMEOUT_MS;
	nd->drain_ms = o.drain_ms > 0 ? o.drain_ms : DEFAULT_DRAIN_MS;
	nd->info.queues_requested = o.queues ? o.queues : 1;
	nd->info.mtu_requested = o.mtu ? o.mtu : 1500;
	nd->info.mtu = nd->info.mtu_requested;
	nd->nq = 1;
	if (o.queues > NETVSC_MAX_QUEUES || (o.mtu && (o.mtu < 68 || o.mtu > 9202))) {
		ret = nv_fail(nd, -EINVAL, "queues must be 1..%u and the MTU 68..9202",
			      NETVSC_MAX_QUEUES);
		goto fail;
	}

	vo.root = o.root;
	vo.errbuf = verr;
	vo.errbuf_len = sizeof(verr);
	ret = vmbus_dev_open(guid, &vo, &nd->dev);
	if (ret) {
		/* libvmbus's message names the device already */
		snprintf(nd->err, sizeof(nd->err), "%s", verr);
		goto fail;
	}
	nd->vinfo.sz = sizeof(nd->vinfo);
	vmbus_dev_info(nd->dev, &nd->vinfo);
	vmbus_guid_format(&nd->vinfo.device_id, nd->guid);
	if (strcmp(vmbus_class_name(&nd->vinfo.class_id) ? vmbus_class_name(&nd->vinfo.class_id) :
							    "",
		   "network")) {
		ret = nv_fail(nd, -ENOTSUP, "not a network adapter (class %s)",
			      vmbus_class_name(&nd->vinfo.class_id) ?
				      vmbus_class_name(&nd->vinfo.class_id) :
				      "unknown");
		goto fail;
	}
	if (nd->vinfo.nmaps < 5 || !nd->vinfo.recv_buf || !nd->vinfo.send_buf) {
		ret = nv_fail(nd, -ENOTSUP, "the UIO driver exposes no receive and send buffers "
					    "(%u maps)",
			      nd->vinfo.nmaps);
		goto fail;
	}
	/* queue 0 first, with descriptors for the attach requests only */
	ret = nv_queue_init(&nd->q[0], nd, 0, 0, 0);
	if (ret) {
		nv_fail(nd, ret, "out of memory");
		goto fail;
	}
	ret = bring_up(nd, &o);
	if (ret)
		goto fail;
	fill_info(nd);
	nd->attached = true;
	*out = nd;
	return 0;
fail:
	if (o.errbuf && o.errbuf_len)
		snprintf(o.errbuf, o.errbuf_len, "%s", nd->err);
	netvsc_detach(nd);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* detach                                                                    */
/* ------------------------------------------------------------------------ */

static bool drained(const struct netvsc_dev *nd)
{
	unsigned int i;

	for (i = 0; i < nd->nq; i++)
		if (nd->q[i].inflight_frames || nd->q[i].npend || nd->q[i].open >= 0)
			return false;
	return true;
}

/* Sends what is queued and waits for the host to complete it. */
static void drain(struct netvsc_dev *nd)
{
	int64_t end = nv_now_ms() + nd->drain_ms;
	unsigned int i;

	for (i = 0; i < nd->nq; i++)
		netvsc_flush(nd, i);
	while (!nv_live(nd) && !drained(nd) && nv_now_ms() < end) {
		for (i = 0; i < nd->nq && !nv_live(nd); i++) {
			struct nv_queue *q = &nd->q[i];

			if (nv_service(q, SINK_DROP, 0, NULL, NULL) < 0)
				return;
			netvsc_flush(nd, i);
			if (q->inflight_frames)
				vmbus_chan_wait(q->chan, 5);
		}
	}
}

/* Takes every receive packet left in the rings, so the host gets its
 * slots back before the buffers go. */
static void return_receives(struct netvsc_dev *nd)
{
	unsigned int i, round;

	for (round = 0; round < 4; round++)
		for (i = 0; i < nd->nq && !nv_live(nd); i++)
			nv_service(&nd->q[i], SINK_DROP, 0, NULL, NULL);
}

void netvsc_detach(struct netvsc_dev *nd)
{
	unsigned int i, k;

	if (!nd)
		return;
	if (nd->dev && !nv_live(nd) && nd->attached) {
		int ms = nd->timeout_ms < DETACH_CTL_TIMEOUT_MS ? nd->timeout_ms :
								   DETACH_CTL_TIMEOUT_MS;

		drain(nd);
		/* Linux closes with filter none, so the host stops receiving */
		if (!nv_live(nd))
			nv_rndis_set_filter(nd, NDIS_PACKET_TYPE_NONE, ms);
		if (!nv_live(nd))
			nv_rndis_halt(nd);
		return_receives(nd);
	}
	/* revoke, then close: the host's order of things */
	if (nd->dev && !nv_live(nd) && nd->buffers)
		nv_nvsp_revoke_buffers(nd);
	/* pages the host never completed: their owners may reuse them now */
	for (i = 0; i < nd->nq; i++) {
		struct nv_queue *q = &nd->q[i];

		for (k = 0; k < q->ntxd && nd->ops.tx_done; k++)
			if (q->txd[k].state == TXD_INFLIGHT && q->txd[k].kind == TXK_PAGES)
				nd->ops.tx_done(nd->ops.arg, i, q->txd[k].cookie,
						nv_live(nd) ? nv_live(nd) : -ECANCELED);
	}
	if (nd->dev)
		vmbus_dev_close(nd->dev);
	/* control pages only now: the host may have read them up to the close */
	vmbus_dma_free(nd->ctl_dma);
	for (i = 0; i < NETVSC_MAX_QUEUES; i++)
		if (nd->q[i].nd)
			nv_queue_fini(&nd->q[i]);
	free(nd);
}

/* ------------------------------------------------------------------------ */
/* facts                                                                     */
/* ------------------------------------------------------------------------ */

int netvsc_info(const struct netvsc_dev *nd, struct netvsc_info *out)
{
	struct netvsc_info in;
	unsigned int i;
	int ret;

	memset(&in, 0, sizeof(in));
	if (!nd) {
		ret = OPTS_FILL(out, &in, netvsc_info);
		return ret ? ret : -EINVAL;
	}
	in = nd->info;
	in.link_up = atomic_load(&nd->link_up);
	in.link_speed_bps = atomic_load(&nd->link_speed_bps);
	in.send_table_valid = atomic_load(&nd->send_table_valid);
	for (i = 0; i < NVSP_SEND_TABLE_SIZE; i++)
		in.send_table[i] = atomic_load_explicit(&nd->send_table[i], memory_order_relaxed);
	return OPTS_FILL(out, &in, netvsc_info);
}

unsigned int netvsc_queues(const struct netvsc_dev *nd)
{
	return nd ? nd->nq : 0;
}

bool netvsc_link_up(const struct netvsc_dev *nd)
{
	return nd && atomic_load(&nd->link_up);
}

unsigned int netvsc_tx_queue(const struct netvsc_dev *nd, uint32_t hash)
{
	uint32_t e;

	if (!nd || nd->nq <= 1)
		return 0;
	if (atomic_load(&nd->send_table_valid)) {
		e = atomic_load_explicit(&nd->send_table[hash % NVSP_SEND_TABLE_SIZE],
					 memory_order_relaxed);
		if (e < nd->nq)
			return e;
	}
	return hash % nd->nq;
}

struct vmbus_device *netvsc_vmbus(struct netvsc_dev *nd)
{
	return nd ? nd->dev : NULL;
}
