/* SPDX-License-Identifier: MIT */
/*
 * priv.h - libnetvsc's private state and the calls between its files:
 *   attach.c    the bring-up and tear-down sequences, device state and
 *               errors, waiting for the host's answers, the facts
 *   nvsp.c      NVSP: versions, buffers, subchannels, host notifications
 *   rndis.c     RNDIS control: requests, what attach queries and sets,
 *               indications and keepalives
 *   datapath.c  the queues: transmit, completions, receive, waiting
 *   codec_*.c   the wire codecs (codec.h): no state, no I/O
 *
 * Ownership: a struct nv_queue belongs to the thread that uses the queue;
 * nothing in it is touched by another thread except the statistics, which
 * the owner publishes with relaxed atomic stores and readers load the
 * same way.  Device-wide state written after attach (device state, link,
 * send table) is atomic for the same reason.
 */
#ifndef NETVSC_PRIV_H
#define NETVSC_PRIV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <netvsc/netvsc.h>
#include <vmbus/vmbus.h>

#include "codec.h"

/*
 * Control messages in flight at once: each has a 4 KiB page of DMA memory
 * (or, without such memory, a send-buffer section kept for control).
 */
#define NV_CTL_SLOTS 4u
/* How long attach waits for granted subchannels to be offered (DPDK's
 * hn_dev_configure tries for about 10 s). */
#define NV_SUBCH_WAIT_MS 10000
/*
 * Sends in flight per queue, at most: netvsp stops reading a queue's ring
 * at 1024 transmits in flight, so more would only sit in the ring (and
 * with 8 frames per message this is 8192 frames queued at the host).
 */
#define NV_DATA_DESCS 1024u
/* Descriptors on top of the sections: NVSP requests during attach. */
#define NV_REQ_DESCS 8u
/* Outstanding RNDIS control requests (attach is one at a time; a
 * keepalive may be pending besides). */
#define NV_CTL_REQS 4u
/* Largest control reply kept: a query completion with its data. */
#define NV_CTL_REPLY_MAX 2048u
/* A host answering with more ranges per receive packet is not believed
 * (OpenVMM sends at most 375, Linux accepts 562 with RSC). */
#define NV_MAX_RANGES 1024u
/* Largest NVSP completion payload kept for a request. */
#define NV_RESP_MAX 64u
/* Pages a GPA-direct frame may name. */
#define NV_MAX_PAGE_BUFS 32u
/* Receive packets kept for the first poll when they arrive during attach. */
#define NV_MAX_DEFERRED 64u
/* How many empty polls between two rescind checks of a busy poller. */
#define NV_CHECK_EVERY 64u

enum nv_txd_state {
	TXD_FREE = 0,
	TXD_OPEN, /* a section that frames are being added to */
	TXD_PENDING, /* closed, waiting for ring space */
	TXD_INFLIGHT, /* in the ring; the host owes a completion */
};

enum nv_txd_kind {
	TXK_DATA = 0, /* frames in a send section */
	TXK_PAGES, /* one frame by GPA pages, its header in a section */
	TXK_CTL, /* an RNDIS control message in a control slot */
	TXK_REQ, /* an NVSP request whose completion carries the answer */
};

/*
 * A transmit descriptor: one NVSP message we sent with a completion
 * requested.  Its index + 1 is the VMBus transaction id, so the host
 * never sees a pointer and a completion names a table slot that must be
 * in flight.
 */
struct nv_txd {
	uint8_t state;
	uint8_t kind;
	uint16_t nframes;
	uint32_t section; /* NVSP_CHIM_IDX_NONE if none; TXK_CTL: the control slot */
	uint32_t used; /* bytes written into the section */
	uint32_t last; /* where the last RNDIS message of the section starts */
	uint32_t next; /* pending list link */
	uint64_t bytes; /* frame bytes, for the statistics */
	uint64_t cookie; /* TXK_PAGES: the caller's */
	/* TXK_REQ: the completion */
	bool done;
	uint32_t resp_len;
	uint8_t resp[NV_RESP_MAX];
};

/* Statistics: written by the queue's thread only. */
struct nv_stats {
	uint64_t rx_packets, rx_bytes, rx_drops, rx_errors;
	uint64_t tx_packets, tx_bytes, tx_drops, tx_errors, tx_busy, tx_msgs, tx_pages;
	uint64_t rx_xfers, tx_inflight;
	uint64_t rx_oversize;
};

#define NV_STAT_ADD(q, field, n)                                                                   \
	__atomic_store_n(&(q)->st.field, (q)->st.field + (uint64_t)(n), __ATOMIC_RELAXED)
#define NV_STAT_SET(q, field, v) __atomic_store_n(&(q)->st.field, (uint64_t)(v), __ATOMIC_RELAXED)

/* Where received frames go while a queue is serviced. */
enum nv_sink {
	SINK_DROP, /* attach and detach: count and drop */
	SINK_CALLBACK, /* ops->rx */
	SINK_ARRAY, /* netvsc_recv's array */
};

struct nv_queue {
	struct netvsc_dev *nd;
	unsigned int idx;
	struct vmbus_chan *chan;

	/* transmit */
	struct nv_txd *txd;
	uint32_t ntxd;
	uint32_t *txd_free; /* stack of free descriptor indices */
	uint32_t ntxd_free;
	uint32_t reserve; /* descriptors data may not take: control and requests */
	uint32_t *sec_free; /* stack of this queue's free data sections */
	uint32_t nsec_free, nsec;
	int64_t open; /* the open descriptor, or -1 */
	uint32_t pend_head, pend_tail, npend; /* FIFO of PENDING descriptors */
	uint32_t inflight_frames;
	/* data held back while the ring is nearly full (tx_gate) */
	bool tx_stopped;

	/* receive: the transfer-page packet being worked through */
	bool have_xfer;
	struct vmbus_pkt xfer; /* points into the channel's packet copy */
	uint32_t xfer_next; /* next range */
	uint32_t xfer_status; /* NVSP status of its completion */
	/*
	 * Receive packets that arrived while attach was still waiting for its
	 * last answer (the host may send as soon as the filter is set): their
	 * slots stay ours, and the first poll delivers them.
	 */
	struct nv_deferred {
		uint64_t tid;
		uint16_t flags;
		uint32_t nranges;
		struct vmbus_xfer_range ranges[];
	} *deferred[NV_MAX_DEFERRED];
	unsigned int ndeferred;
	struct nv_deferred *xfer_owned; /* the deferred packet in q->xfer */
	/* completions the ring had no room for */
	struct nv_owed {
		uint64_t tid;
		uint32_t status;
	} *owed;
	uint32_t nowed, owed_cap;
	/* private copies of receive ranges: NETVSC_RECV_MAX slots */
	uint8_t *copy;
	uint32_t copy_slot; /* slot size: the receive section size */
	unsigned int empty_polls;

	struct nv_stats st;
};

/* An outstanding RNDIS control request, matched by its request id. */
struct nv_ctl_req {
	uint32_t rid; /* 0: slot free */
	bool done;
	bool overflow; /* the reply did not fit in buf */
	bool async; /* nobody waits: a keepalive */
	uint32_t len;
	uint8_t buf[NV_CTL_REPLY_MAX];
};

struct netvsc_dev {
	struct vmbus_device *dev;
	struct vmbus_dev_info vinfo;
	char guid[VMBUS_GUID_STRLEN];
	struct netvsc_ops ops;
	int timeout_ms;
	int drain_ms;
	bool attached; /* the whole attach sequence succeeded */
	bool buffers; /* receive and send buffers connected: revoke them */

	_Atomic int state; /* 0, -ENODEV, -EPROTO */
	atomic_flag reported; /* GONE/BROKEN event sent */
	char err[512];

	/* protocol facts */
	struct netvsc_info info;
	uint32_t ndis_version;
	uint32_t agg_pkts, agg_align, max_xfer;
	uint32_t rx_section_size, rx_section_count;
	uint32_t tx_section_size, tx_section_count;

	/* control (queue 0's thread) */
	uint32_t next_rid;
	struct nv_ctl_req ctl[NV_CTL_REQS];
	/* control slots: pages of ctl_dma, or send sections without it */
	struct vmbus_dma *ctl_dma;
	uint32_t ctl_slot_free[NV_CTL_SLOTS];
	uint32_t nctl_slot_free;
	uint32_t ctl_sections; /* send sections kept for control: 0 or NV_CTL_SLOTS */
	bool keepalive_owed; /* the host asked; our answer did not fit yet */
	uint32_t keepalive_rid;

	/* events and link, written by queue 0's thread */
	atomic_bool link_up;
	_Atomic uint64_t link_speed_bps;
	_Atomic uint32_t send_table[NVSP_SEND_TABLE_SIZE];
	atomic_bool send_table_valid;

	unsigned int nq;
	struct nv_queue q[NETVSC_MAX_QUEUES];
};

/* The start of send-buffer section @section. */
static inline uint8_t *nv_section(const struct netvsc_dev *nd, uint32_t section)
{
	return (uint8_t *)nd->vinfo.send_buf + (size_t)section * nd->tx_section_size;
}

/* attach.c: state, errors, waiting for the host */
int64_t nv_now_ms(void);
/* Says why @nd failed, prefixed "netvsc <guid>: ".  Returns @err. */
int nv_fail(struct netvsc_dev *nd, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The device is dead (-ENODEV or -EPROTO): the first to say so explains. */
void nv_dead(struct netvsc_dev *nd, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int nv_live(const struct netvsc_dev *nd);
/*
 * Services queue 0 (frames are dropped: nobody takes them yet) until
 * @done(@arg) or @timeout_ms.  Returns 0, -ETIMEDOUT, or a device error.
 */
int nv_wait(struct netvsc_dev *nd, bool (*done)(struct netvsc_dev *, const void *), const void *arg,
	    int timeout_ms);
/* A wait or request that failed: the message names the step. */
int nv_step_error(struct netvsc_dev *nd, int err, const char *what, int timeout_ms);

/* nvsp.c */
int nv_nvsp_init(struct netvsc_dev *nd, uint32_t max);
int nv_nvsp_connect_buffers(struct netvsc_dev *nd);
void nv_nvsp_revoke_buffers(struct netvsc_dev *nd);
int nv_nvsp_subchannels(struct netvsc_dev *nd, uint32_t n, uint32_t *granted);
void nv_nvsp_notification(struct nv_queue *q, const struct vmbus_pkt *pkt);

/* rndis.c */
void nv_rndis_control_setup(struct netvsc_dev *nd);
/* Adds @text to the attach's notices (netvsc_info.notice). */
void nv_notice(struct netvsc_dev *nd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int nv_rndis_send(struct netvsc_dev *nd, const void *msg, uint32_t len);
int nv_rndis_init(struct netvsc_dev *nd);
int nv_rndis_set_filter(struct netvsc_dev *nd, uint32_t filter, int timeout_ms);
int nv_rndis_query_facts(struct netvsc_dev *nd);
int nv_rndis_offloads(struct netvsc_dev *nd, bool off);
int nv_rndis_rss_caps(struct netvsc_dev *nd, struct ndis_rss_caps_info *rc);
int nv_rndis_program_rss(struct netvsc_dev *nd);
void nv_rndis_halt(struct netvsc_dev *nd);
int nv_rndis_message(struct netvsc_dev *nd, const uint8_t *msg, uint32_t len);
/* Answers a host keepalive; kept owed while no control section is free
 * (queue 0's poll tries again). */
void nv_rndis_keepalive_answer(struct netvsc_dev *nd);

/* datapath.c */
int nv_queue_init(struct nv_queue *q, struct netvsc_dev *nd, unsigned int idx, uint32_t first,
		  uint32_t nsec);
int nv_queue_size_rx(struct nv_queue *q);
int nv_queues_setup(struct netvsc_dev *nd);
void nv_queue_fini(struct nv_queue *q);
int nv_service(struct nv_queue *q, enum nv_sink sink, unsigned int budget,
	       struct netvsc_rx_frame *out, unsigned int *nout);
int nv_txd_get(struct nv_queue *q, uint8_t kind);
void nv_txd_put(struct nv_queue *q, uint32_t i);
int nv_push_pending(struct nv_queue *q);
int nv_chan_error(struct nv_queue *q, int err, const char *what);

#endif /* NETVSC_PRIV_H */
