/* SPDX-License-Identifier: MIT */
/*
 * netvsc/netvsc.h - a Hyper-V synthetic NIC driven from your own process.
 *
 * libnetvsc speaks the guest side of the Hyper-V network protocol (NVSP,
 * RNDIS and NDIS) over libvmbus: it attaches to a network adapter by
 * instance GUID the way Linux hv_netvsc does, then moves Ethernet frames
 * through one or more queues (the primary channel and its subchannels).
 *
 *   struct netvsc_ops ops = { .sz = sizeof(ops), .rx = on_frame, .arg = ctx };
 *   struct netvsc_opts o = { .sz = sizeof(o), .queues = 2, .ops = &ops };
 *   struct netvsc_dev *nd;
 *   if (netvsc_attach("9a1d5c3e-...", &o, &nd) < 0) ...;  // o.errbuf says why
 *   netvsc_send(nd, 0, frame, len, NULL, 0);             // copied, then sent
 *   netvsc_poll(nd, 0, 64);                              // frames to ops.rx
 *   netvsc_wait(nd, 0, -1, 1000);                        // sleep until work
 *   netvsc_detach(nd);
 *
 * Conventions
 *   - Functions return 0 (or a count) on success and a negative errno on
 *     failure; they never exit, abort or print.  The errors that mean the
 *     same thing everywhere:
 *         -ENODEV     the host rescinded the device: everything stops, only
 *                     netvsc_detach still works (it frees everything)
 *         -EPROTO     the host broke the protocol or wrote corrupt data;
 *                     the device is unusable; netvsc_strerror says how
 *         -EAGAIN     back-pressure: no free send section, descriptor or
 *                     ring space; the frame was NOT taken.  Call
 *                     netvsc_poll on the queue (it reaps completions) and
 *                     try again.  A frame that was taken is never lost.
 *         -ETIMEDOUT  the host did not answer a control request in time
 *   - Everything the host writes is untrusted: packets are copied out of
 *     the rings and the receive buffer before they are parsed, every
 *     length and offset is checked, transaction and request ids are small
 *     integers from tables, and completions are checked against what is
 *     outstanding.  Bad data is reported and skipped where the protocol
 *     allows it, or stops the device cleanly where it does not.
 *   - Queues: queue q is channel q (0 is the primary).  A queue is used by
 *     one thread at a time (netvsc_send*, netvsc_flush, netvsc_poll,
 *     netvsc_recv, netvsc_wait and netvsc_keepalive on it); different
 *     queues may be used by different threads at once.  Queue 0 also
 *     carries control traffic and events, so it must be polled too.
 *     netvsc_stats, netvsc_info, netvsc_link_up and netvsc_state may be
 *     called from any thread.  Stop every queue's thread before detaching.
 *   - Handles are opaque; there is no global state.
 *   - Structs that may grow begin with `size_t sz`: set it to sizeof of
 *     your struct, and the library and your program may be built against
 *     different versions of this header.
 *       inputs (netvsc_opts, netvsc_ops): NULL means every default.  A
 *         smaller struct (an older header) works: the fields it lacks take
 *         their defaults.  A larger one (a newer header) works when the
 *         fields this library does not know are all zero; otherwise, and
 *         when sz is below sizeof(size_t), netvsc_attach fails with
 *         -EINVAL and a message in opts->errbuf.
 *       outputs (netvsc_info, netvsc_queue_stats): the call fills the
 *         fields that fit in your sz, leaves sz alone and zeroes the fields
 *         of a larger struct it does not know; -EINVAL if sz is below
 *         sizeof(size_t).
 *     Declare them with an initializer ({ .sz = sizeof(x), ... }) so that
 *     every byte you do not set is zero.  Per-frame structs (netvsc_rx_frame,
 *     netvsc_tx_meta, netvsc_txbuf, netvsc_tx_pages) and netvsc_event, which
 *     the library hands to you, have a fixed layout: what they need later
 *     comes with new calls or event types.
 */
#ifndef NETVSC_NETVSC_H
#define NETVSC_NETVSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmbus/vmbus.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The primary channel and up to 63 subchannels. */
#define NETVSC_MAX_QUEUES 64u
#define NETVSC_ETH_ALEN 6u
/* Ethernet header bytes counted on top of the MTU. */
#define NETVSC_ETH_HLEN 14u
/* What a queue delivers per netvsc_recv call at most. */
#define NETVSC_RECV_MAX 64u

struct netvsc_dev;

/* ======================================================================== */
/* Frames and events                                                         */
/* ======================================================================== */

/* netvsc_rx_frame.flags: what the host said about a received frame. */
#define NETVSC_RX_VLAN 0x01u /* it took an 802.1Q tag out: vlan_tci */
#define NETVSC_RX_HASH 0x02u /* it computed the RSS hash: hash */
#define NETVSC_RX_IP_CSUM_OK 0x04u /* the IPv4 header checksum is good */
#define NETVSC_RX_L4_CSUM_OK 0x08u /* the TCP or UDP checksum is good */
#define NETVSC_RX_CSUM_BAD 0x10u /* a checksum it checked is wrong */

/*
 * A received frame.  @data points into the queue's private copy (never
 * into memory the host can write): handed to ops->rx it is valid during
 * the call only; from netvsc_recv, until the next netvsc_recv or
 * netvsc_poll on the same queue.
 */
struct netvsc_rx_frame {
	const void *data;
	uint32_t len; /* >= 14: an Ethernet header at least */
	uint16_t queue;
	uint16_t vlan_tci; /* 802.1Q TCI order: priority 15..13, DEI 12, id 11..0 */
	uint32_t flags; /* NETVSC_RX_* */
	uint32_t hash;
};

/* netvsc_tx_meta.flags: what the host should do for a transmitted frame. */
#define NETVSC_TX_VLAN 0x01u /* insert an 802.1Q tag with vlan_tci */
#define NETVSC_TX_CSUM_IP4 0x02u /* fill in the IPv4 header checksum */
#define NETVSC_TX_CSUM_TCP 0x04u /* fill in the TCP checksum */
#define NETVSC_TX_CSUM_UDP 0x08u /* fill in the UDP checksum */
#define NETVSC_TX_IPV6 0x10u /* with CSUM_TCP/UDP: the frame is IPv6 */

/*
 * Per-frame requests.  Checksum requests need the host's offer (see
 * netvsc_info.tx_csum): -ENOTSUP otherwise.  A frame that carries an
 * 802.1Q tag itself (and no NETVSC_TX_VLAN) has its tag moved into the
 * VLAN per-packet info, because the host takes tags only that way.
 */
struct netvsc_tx_meta {
	uint32_t flags; /* NETVSC_TX_* */
	uint16_t vlan_tci;
	uint16_t l4_offset; /* checksums: where the TCP/UDP header starts, < 1024 */
};

enum netvsc_event_type {
	NETVSC_EV_LINK, /* link state changed: link_up */
	NETVSC_EV_LINK_SPEED, /* the host reported a new speed: speed_bps */
	NETVSC_EV_KEEPALIVE, /* the host answered netvsc_keepalive */
	NETVSC_EV_SEND_TABLE, /* the host sent a new transmit indirection table */
	NETVSC_EV_GONE, /* the device was rescinded (error -ENODEV) */
	NETVSC_EV_BROKEN, /* the host broke the protocol (error -EPROTO) */
};

struct netvsc_event {
	enum netvsc_event_type type;
	bool link_up;
	uint64_t speed_bps;
	int error;
	const char *message; /* for GONE and BROKEN: what happened */
};

/*
 * Callbacks, all optional, called on the thread of the queue concerned,
 * from inside netvsc_poll unless said otherwise.  They must not call back
 * into the same queue except netvsc_send (with NETVSC_SEND_MORE, then
 * netvsc_flush after the poll): echoing a frame from rx is fine.
 *   rx       a frame arrived (frames arriving during attach or detach are
 *            dropped and counted)
 *   tx_done  the host is done with the pages of a netvsc_send_pages frame:
 *            @status 0, or -EIO if the host reported a failure, or
 *            -ENODEV/-EPROTO if the device died first (called at detach)
 *   event    link changes and keepalive answers (from queue 0's poll);
 *            GONE and BROKEN from whichever queue's thread sees it first,
 *            exactly once
 */
struct netvsc_ops {
	size_t sz; /* sizeof(struct netvsc_ops) */
	void (*rx)(void *arg, const struct netvsc_rx_frame *frame);
	void (*tx_done)(void *arg, unsigned int queue, uint64_t cookie, int status);
	void (*event)(void *arg, const struct netvsc_event *ev);
	void *arg;
};
#define netvsc_ops__last arg

/* ======================================================================== */
/* Attach and detach                                                         */
/* ======================================================================== */

struct netvsc_opts {
	size_t sz; /* sizeof(struct netvsc_opts) */
	/* Root prefix of the VMBus ("" real guest; NULL: $VMBUS_ROOT or ""). */
	const char *root;
	/* Queues wanted (1 .. NETVSC_MAX_QUEUES, 0: 1).  The host may grant
	 * fewer: netvsc_queues says how many there are. */
	unsigned int queues;
	/* L3 MTU wanted (68 .. 9202, 0: 1500).  The host may cap it. */
	unsigned int mtu;
	/* Highest NVSP version to offer (0: NVSP 6.1); for tests and for
	 * hosts that misbehave at the newest version. */
	uint32_t nvsp_max;
	/* RNDIS packet filter (0: directed | all-multicast | broadcast). */
	uint32_t packet_filter;
	/* How long one control step may take, in ms (0: 60000, as DPDK: busy
	 * Azure hosts take more than 15 s). */
	int timeout_ms;
	/* How long netvsc_detach waits for sends in flight (0: 2000 ms). */
	int drain_ms;
	/* Do not ask the host for checksum offloads. */
	bool no_offload;
	const struct netvsc_ops *ops;
	/* On failure, receives a message naming the device and the cause. */
	char *errbuf;
	size_t errbuf_len;
};
#define netvsc_opts__last errbuf_len

/*
 * Opens the device with instance GUID @guid and brings the NIC up: NVSP
 * version negotiation (6.1 down to 1), NDIS configuration and version,
 * receive and send buffers, RNDIS initialisation, MAC/MTU/link queries,
 * subchannels and RSS, offloads, packet filter.
 * Errors (with a message in opts->errbuf):
 *   -EINVAL     bad options or GUID (also: @opts or its ops break the size
 *               rule of the conventions above)
 *   -ENOENT     no such device; -ENXIO not bound to a UIO driver;
 *   -ENOTSUP    not a network adapter with receive and send buffers
 *   -EACCES     permission denied
 *   -ENODEV     rescinded while attaching
 *   -EPROTO     the host broke the protocol or refused a required step
 *   -ETIMEDOUT  the host did not answer
 *   -ENOMEM, or another errno from the system
 */
int netvsc_attach(const char *guid, const struct netvsc_opts *opts, struct netvsc_dev **out);

/*
 * Takes the NIC down in the order Linux does and frees everything: sends
 * what is queued, waits (opts.drain_ms) for sends in flight, sets the
 * packet filter to none, halts RNDIS, returns every receive packet,
 * revokes the receive and send buffers, then closes the channels.  After
 * a rescind or a protocol error it only frees.  Never fails.
 */
void netvsc_detach(struct netvsc_dev *nd);

/*
 * 0 while the device works, -ENODEV after a rescind, -EPROTO after a
 * protocol error or corrupt data.
 */
int netvsc_state(const struct netvsc_dev *nd);

/* What went wrong, naming the device ("" if nothing did). */
const char *netvsc_strerror(const struct netvsc_dev *nd);

/* Facts the attach learnt, for display and decisions. */
struct netvsc_info {
	size_t sz; /* set by the caller: sizeof(struct netvsc_info) */
	char guid[VMBUS_GUID_STRLEN];
	uint8_t mac[NETVSC_ETH_ALEN];
	uint32_t mtu; /* L3; frames up to mtu + 14 bytes */
	uint32_t mtu_requested;
	uint32_t mtu_host; /* what the host's maximum frame size query said */
	bool link_up;
	uint64_t link_speed_bps;
	uint32_t nvsp_version; /* NVSP_VERSION_* */
	uint32_t ndis_version; /* NDIS_VERSION_* (major << 16 | minor) */
	uint32_t rndis_major, rndis_minor;
	uint32_t max_mdl_chain_len;
	/* receive buffer: slots the host fills, one frame or message each */
	uint64_t rx_buf_size;
	uint32_t rx_section_size, rx_section_count;
	/* send buffer: sections the guest fills */
	uint64_t tx_buf_size;
	uint32_t tx_section_size, tx_section_count;
	/* RNDIS aggregation limits (frames per message, bytes, alignment) */
	uint32_t rndis_max_pkts, rndis_max_xfer, rndis_align;
	/* queues */
	unsigned int queues; /* open and in use */
	unsigned int queues_requested;
	unsigned int queues_host_max; /* RSS capabilities: receive queues */
	unsigned int subchannels_granted;
	bool rss; /* RSS programmed: key, indirection table */
	uint32_t rss_hash_info; /* NDIS_HASH_FUNCTION_* | NDIS_HASH_* */
	uint32_t rss_indirection_size; /* entries of the table programmed (the host's, 128 if it said none) */
	bool send_table_valid;
	uint32_t send_table[16]; /* host's transmit indirection table */
	/* offloads */
	bool offload_caps_known;
	uint32_t tx_csum; /* NETVSC_TX_CSUM_* the host offers (and IPV6 if for v6 too) */
	bool rx_csum; /* the host validates receive checksums */
	uint32_t lsov2_max_size; /* 0 if not offered (not used by this library) */
	uint32_t packet_filter;
	/* the VMBus device underneath */
	uint32_t relid;
	bool monitored;
	bool simulated;
	char uio_name[64];
	size_t ring_size;
	/*
	 * RNDIS control messages go by page reference from a page of DMA
	 * memory, as Linux and DPDK send them; false: no such memory could
	 * be had (a real guest without hugepages or root), so they go in
	 * send sections kept for them (notice says why).
	 */
	bool control_by_page;
	unsigned int subchannels_opened; /* of those granted: offered and opened in time */
	/* What attach did other than asked, and why ("" if nothing): fewer
	 * queues than granted, control messages in sections. */
	char notice[256];
};
#define netvsc_info__last notice

/* Fills *out (out->sz set by the caller).  Returns 0 or -EINVAL. */
int netvsc_info(const struct netvsc_dev *nd, struct netvsc_info *out);

/* Queues in use (1 .. NETVSC_MAX_QUEUES). */
unsigned int netvsc_queues(const struct netvsc_dev *nd);

/* The link state last reported by the host. */
bool netvsc_link_up(const struct netvsc_dev *nd);

/*
 * The queue the host's transmit indirection table names for a flow hash
 * (hash % 16), or hash % queues before the host sent one.
 */
unsigned int netvsc_tx_queue(const struct netvsc_dev *nd, uint32_t hash);

/* The libvmbus device, for vmbus_dma_alloc (netvsc_send_pages). */
struct vmbus_device *netvsc_vmbus(struct netvsc_dev *nd);

/* ======================================================================== */
/* Transmit                                                                  */
/* ======================================================================== */

/* More frames follow: do not publish yet (see netvsc_flush). */
#define NETVSC_SEND_MORE 0x1u

/*
 * Copies one frame (14 .. mtu + 14 bytes, or + 18 with its own 802.1Q tag)
 * into a send-buffer section, behind an RNDIS packet header with the
 * per-packet info @meta asks for (NULL: none).  Consecutive frames share a
 * section as far as the host's RNDIS limits allow.  Without
 * NETVSC_SEND_MORE the section goes out at once with everything queued
 * before it; with it, at the next send without the flag or netvsc_flush.
 * Returns 0 (taken: it will reach the host), -EAGAIN (not taken:
 * back-pressure), -EMSGSIZE (larger than a section or the MTU: use
 * netvsc_send_pages), -EINVAL, -ENOTSUP (a checksum the host does not
 * offer), -ENODEV, -EPROTO.
 */
int netvsc_send(struct netvsc_dev *nd, unsigned int q, const void *frame, size_t len,
		const struct netvsc_tx_meta *meta, unsigned int flags);

struct netvsc_txbuf {
	const void *data;
	uint32_t len;
	const struct netvsc_tx_meta *meta; /* NULL: none */
};

/*
 * Sends frames in order, batched (one ring publication and at most one
 * host signal), until one is not taken.  Returns how many were taken
 * (possibly 0 on back-pressure), or a negative error if the device is
 * unusable or the first frame is invalid.
 */
int netvsc_send_burst(struct netvsc_dev *nd, unsigned int q, const struct netvsc_txbuf *frames,
		      unsigned int n);

/*
 * A frame the host reads straight from guest memory (GPA-direct): for
 * frames larger than a send section, e.g. jumbo frames.  The pages come
 * from vmbus_dma_gpa() on memory from vmbus_dma_alloc(netvsc_vmbus(nd)).
 * Only the RNDIS header goes into a send section.  The memory must stay
 * untouched until ops->tx_done reports @cookie.
 */
struct netvsc_tx_pages {
	const struct vmbus_gpa_buf *bufs;
	unsigned int nbufs; /* 1 .. 32 */
	const struct netvsc_tx_meta *meta;
	uint64_t cookie;
};

/* Returns 0 (taken), -EAGAIN (not taken), -EMSGSIZE, -EINVAL, -ENOTSUP,
 * -ENODEV, -EPROTO.  Never batched: it publishes what is queued too. */
int netvsc_send_pages(struct netvsc_dev *nd, unsigned int q, const struct netvsc_tx_pages *p);

/*
 * Publishes what NETVSC_SEND_MORE queued (and what a full ring held back)
 * and signals the host if needed.  Returns 0, -EAGAIN if the ring is full
 * (the frames are kept and go out from a later netvsc_flush, netvsc_send
 * or netvsc_poll), -ENODEV, -EPROTO.
 */
int netvsc_flush(struct netvsc_dev *nd, unsigned int q);

/* ======================================================================== */
/* Receive, events, waiting                                                  */
/* ======================================================================== */

/*
 * Services queue @q: reaps transmit completions, hands up to @budget
 * received frames to ops->rx (0: no limit), returns every receive packet
 * to the host, and on queue 0 handles control replies and host
 * indications (link, keepalive, transmit table).  Returns the number of
 * frames delivered, -ENODEV or -EPROTO.
 */
int netvsc_poll(struct netvsc_dev *nd, unsigned int q, unsigned int budget);

/*
 * The same without a callback: fills up to @n (<= NETVSC_RECV_MAX) frames
 * whose data stays valid until the next netvsc_recv or netvsc_poll on @q.
 * Returns the number filled (0 if none), -ENODEV, -EPROTO, -EINVAL.
 */
int netvsc_recv(struct netvsc_dev *nd, unsigned int q, struct netvsc_rx_frame *frames,
		unsigned int n);

#define NETVSC_WAIT_QUEUE 0x1 /* the queue has work: call netvsc_poll */
#define NETVSC_WAIT_FD 0x2 /* @fd is readable */

/*
 * Sleeps until queue @q has work (a packet from the host, ring space for
 * frames held back) or @fd (if >= 0) is readable, at most @timeout_ms (< 0:
 * no limit).  Interrupt-driven: the host signals, nothing spins.  Returns
 * a mask of NETVSC_WAIT_* (0 on timeout), -ENODEV, -EPROTO.
 */
int netvsc_wait(struct netvsc_dev *nd, unsigned int q, int fd, int timeout_ms);

/*
 * The same for a thread that serves several queues (as a DPDK lcore polls
 * several): sleeps until one of @queues (bit q for queue q) has work or @fd
 * (if >= 0) is readable, at most @timeout_ms (< 0: no limit).  Sets *@ready
 * (if not NULL) to the queues found with work, to be serviced with
 * netvsc_poll or netvsc_recv.  Returns a mask of NETVSC_WAIT_* (0 on
 * timeout), -EINVAL (no queue, or one not in use), -ENODEV, -EPROTO.
 */
int netvsc_wait_queues(struct netvsc_dev *nd, uint64_t queues, int fd, int timeout_ms,
		       uint64_t *ready);

/*
 * Sends an RNDIS keepalive on queue 0 (call it from queue 0's thread); the
 * answer comes as NETVSC_EV_KEEPALIVE from netvsc_poll(nd, 0, ...).
 * Returns 0, -EAGAIN (no room now), -EBUSY (one is still unanswered),
 * -ENODEV, -EPROTO.
 */
int netvsc_keepalive(struct netvsc_dev *nd);

/* ======================================================================== */
/* Statistics                                                                */
/* ======================================================================== */

struct netvsc_queue_stats {
	size_t sz; /* set by the caller: sizeof(struct netvsc_queue_stats) */
	uint64_t rx_packets; /* frames delivered */
	uint64_t rx_bytes;
	uint64_t rx_drops; /* frames that arrived when nobody could take them */
	uint64_t rx_errors; /* host data rejected: bad ranges, malformed RNDIS */
	uint64_t tx_packets; /* frames the host completed successfully */
	uint64_t tx_bytes;
	uint64_t tx_drops; /* frames the host completed with a failure */
	uint64_t tx_errors; /* completions matching nothing outstanding */
	uint64_t tx_busy; /* sends refused for back-pressure (-EAGAIN) */
	uint64_t tx_msgs; /* NVSP messages: tx_packets / tx_msgs = aggregation */
	uint64_t tx_pages; /* frames sent GPA-direct */
	uint64_t rx_xfers; /* receive packets (transfer-page packets) */
	uint64_t tx_inflight; /* frames taken, not yet completed (a snapshot) */
	/* frames longer than mtu + 14 (+ 4 with their own 802.1Q tag): dropped */
	uint64_t rx_oversize;
};
#define netvsc_queue_stats__last rx_oversize

/*
 * Counters of queue @q (all zero for a queue that does not exist) into
 * *out (out->sz set by the caller).  Returns 0 or -EINVAL.
 */
int netvsc_stats(const struct netvsc_dev *nd, unsigned int q, struct netvsc_queue_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* NETVSC_NETVSC_H */
