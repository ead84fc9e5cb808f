/* SPDX-License-Identifier: MIT */
/*
 * Packets both ways through the kernel path, with libvmbus on the guest
 * side and libvmbus's ring code on the host side: the guest's signals
 * arrive through the monitor page, the host's through the driver's
 * interrupt, and a full ring recovers once the host drains it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vmbus/vmbus.h>

#include "ktest.h"

/* The host sends once the guest sleeps waiting for it. */
struct late_sender {
	struct kt_host_chan *hc;
	pid_t guest_tid;
	int n;
	int err;
};

static void *late_send(void *arg)
{
	struct late_sender *ls = arg;
	char msg[32];
	int len = snprintf(msg, sizeof(msg), "late %d", ls->n);

	if (!kt_wait_blocked(ls->guest_tid, SYS_poll, KT_TIMEOUT_MS)) {
		ls->err = -ETIMEDOUT;
		return NULL;
	}
	ls->err = vmbus_chan_send(ls->hc->c, 0, 0, msg, (size_t)len + 1);
	return NULL;
}

int main(int argc, char **argv)
{
	static uint8_t buf[8192], big[4000];
	struct vmbus_chan_stats st = { .sz = sizeof(st) };
	struct vmbus_dev_info info = { .sz = sizeof(info) };
	struct kt_host_chan hc = { 0 };
	struct vmbus_device *dev;
	struct vmbus_chan *g;
	struct vmbus_pkt pkt;
	char guid[37], msg[64];
	uint32_t relid;
	int i, r, sent;

	kt_init(argc, argv, "packets both ways through the driver with libvmbus");
	relid = kt_offer_bound(KT_CLASS_NIC, guid);

	dev = kt_dev_open(guid);
	vmbus_dev_info(dev, &info);
	KT_ASSERT(info.relid == relid && info.monitor_id != VMBUS_MONITOR_ID_NONE,
		  "libvmbus sees relid %u monitor %u", info.relid, info.monitor_id);
	KT_ASSERT(!strcmp(info.uio_name, kt_drv->name) || strcmp(kt_drv->name, "uio_hv_generic"),
		  "uio name %s", info.uio_name);
	g = vmbus_dev_primary(dev);
	kt_host_attach(&hc, relid);

	/* request / completion, and unsolicited host messages */
	for (i = 1; i <= 200; i++) {
		int n = snprintf(msg, sizeof(msg), "request %d", i);

		r = vmbus_chan_send(g, VMBUS_SEND_COMPLETION, (uint64_t)i, msg, (size_t)n + 1);
		errno = -r;
		KT_ASSERT(r == 0, "guest send %d", i);
		r = kt_host_recv(&hc, buf, sizeof(buf), &pkt);
		errno = r < 0 ? -r : 0;
		KT_ASSERT(r > 0 && pkt.type == VMBUS_PKT_DATA_INBAND && pkt.tid == (uint64_t)i &&
				  (pkt.flags & VMBUS_PKT_FLAG_COMPLETION_REQUESTED) &&
				  !strcmp(pkt.data, msg),
			  "host received %d: type %u tid %llu \"%.20s\"", r, pkt.type,
			  (unsigned long long)pkt.tid, (const char *)pkt.data);

		n = snprintf(msg, sizeof(msg), "done %d", i);
		r = vmbus_chan_send_completion(hc.c, 0, (uint64_t)i, msg, (size_t)n + 1);
		KT_ASSERT(r == 0, "host completion %d: %d", i, r);
		if (i % 10 == 0) {
			r = vmbus_chan_send(hc.c, 0, 0, "event", 6);
			KT_ASSERT(r == 0, "host message: %d", r);
		}
		r = kt_guest_recv(g, buf, sizeof(buf), &pkt);
		errno = r < 0 ? -r : 0;
		KT_ASSERT(r > 0 && pkt.type == VMBUS_PKT_COMPLETION && pkt.tid == (uint64_t)i &&
				  !strcmp(pkt.data, msg),
			  "guest received %d: type %u tid %llu", r, pkt.type,
			  (unsigned long long)pkt.tid);
		if (i % 10 == 0) {
			r = kt_guest_recv(g, buf, sizeof(buf), &pkt);
			KT_ASSERT(r > 0 && pkt.type == VMBUS_PKT_DATA_INBAND &&
					  !strcmp(pkt.data, "event"),
				  "guest missed the host's message: %d", r);
		}
	}

	/* the guest sleeps in vmbus_chan_wait() until the host's signal */
	for (i = 0; i < 20; i++) {
		struct late_sender ls = { .hc = &hc, .guest_tid = (pid_t)syscall(SYS_gettid), .n = i };
		pthread_t t;

		KT_ASSERT(vmbus_chan_recv(g, buf, sizeof(buf), &pkt) == -EAGAIN, "ring not empty");
		KT_ASSERT(pthread_create(&t, NULL, late_send, &ls) == 0, "thread");
		r = kt_guest_recv(g, buf, sizeof(buf), &pkt);
		pthread_join(t, NULL);
		errno = -ls.err;
		KT_ASSERT(ls.err == 0, "the host's late send");
		snprintf(msg, sizeof(msg), "late %d", i);
		KT_ASSERT(r > 0 && !strcmp(pkt.data, msg), "guest woke with %d", r);
	}

	/* fill the guest's send ring, then let the host drain it */
	for (sent = 0;; sent++) {
		memset(big, (uint8_t)sent, sizeof(big));
		r = vmbus_chan_send(g, 0, 0, big, sizeof(big));
		if (r == -EAGAIN)
			break;
		errno = -r;
		KT_ASSERT(r == 0, "guest send %d", sent);
	}
	KT_ASSERT(sent > 100, "the 2 MiB ring took only %d packets", sent);
	for (i = 0; i < sent; i++) {
		r = kt_host_recv(&hc, buf, sizeof(buf), &pkt);
		KT_ASSERT(r >= (int)sizeof(big) && ((uint8_t *)pkt.data)[0] == (uint8_t)i &&
				  ((uint8_t *)pkt.data)[sizeof(big) - 1] == (uint8_t)i,
			  "host packet %d of %d: %d", i, sent, r);
	}
	r = vmbus_chan_send(g, 0, 0, big, sizeof(big));
	KT_ASSERT(r == 0, "guest send after the host drained: %d", r);
	KT_ASSERT(kt_host_recv(&hc, buf, sizeof(buf), &pkt) > 0, "last packet");

	vmbus_chan_stats(g, &st);
	kt_note("guest: %llu packets out, %llu in, %llu signals, %llu wakeups",
		(unsigned long long)st.tx_packets, (unsigned long long)st.rx_packets,
		(unsigned long long)st.tx_signals, (unsigned long long)st.wakeups);
	KT_ASSERT(st.rx_errors == 0 && !vmbus_chan_broken(g), "guest channel broken: %s",
		  vmbus_chan_broken(g) ? vmbus_chan_broken(g) : "rx errors");
	KT_ASSERT(st.tx_signals > 0 && st.wakeups >= 20, "signals %llu, wakeups %llu",
		  (unsigned long long)st.tx_signals, (unsigned long long)st.wakeups);

	kt_host_detach(&hc);
	vmbus_dev_close(dev);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_CLOSE, relid, KT_TIMEOUT_MS, NULL) == 0,
		  "no CLOSE after vmbus_dev_close");
	kt_pass();
}
