/* SPDX-License-Identifier: MIT */
/*
 * netvsp.h - the state of vmbus-hostsim's NetVSP (the host side of a
 * synthetic network adapter) and the calls between its files:
 *   netvsp.c        the device: open, close, the poll pass, statistics
 *   netvsp_nvsp.c   NVSP messages from the guest and the host's answers
 *   netvsp_rndis.c  RNDIS control: queries, sets, indications, replies
 *   netvsp_data.c   receive slots, RSS, frames to and from the guest
 *   netvsp_offload.c checksums and segmentation the guest leaves to the host
 *   netvsp_fault.c  faults the control interface injects
 * Names carry nsp_ (the host's), never the guest driver's nv_.
 */
#ifndef HOSTSIM_NETVSP_H
#define HOSTSIM_NETVSP_H

#include <stdbool.h>
#include <stdint.h>

#include <netvsc/proto.h>

#include "hostsim.h"

#define NSP_CTL_SLOTS 16u /* reserved receive slots for control replies */
#define NSP_RX_BATCH 375u /* frames per transfer-page packet */
#define NSP_MAX_PKTS 8u /* RNDIS packets per message, as INIT_CMPLT announces */
#define NSP_SECTION_SIZE 6144u
#define NSP_MTU_MIN 1514u /* NDIS_CONFIG mtu includes the Ethernet header */
#define NSP_MTU_MAX 9216u
#define NSP_MAX_MDL_CHAIN 34u
#define NSP_RNDIS_MAX 65536u /* largest RNDIS message we assemble */
#define NSP_RXQ_CAP 1024u /* frames waiting per queue */
#define NSP_TX_INFLIGHT 1024u /* delayed completions per queue */
#define NSP_FRAME_MAX (NSP_MTU_MAX + 4u)
#define NSP_DATA_OFFSET 256u /* where a received frame starts in its slot */
#define NSP_CTLQ_CAP 64u
#define NSP_HASH_INPUT 12u /* IPv4 addresses and ports */

/* bytes of a queued frame held in its entry: every header the host reads
 * (Ethernet, 802.1Q, IPv4 with options, ports) */
#define NSP_FRAME_INLINE 128u
#define NSP_FRAME_BIG (NSP_FRAME_MAX - NSP_FRAME_INLINE)
/* every waiting frame's tail at its largest, and the gap a wrap leaves */
#define NSP_RXBIG_SIZE ((NSP_RXQ_CAP + 1u) * ((NSP_FRAME_BIG + 63u) & ~63u))

/*
 * A frame waiting for a receive slot: head[0, ilen), then tail's
 * len - ilen bytes.  The tail is the queue's big storage for the entry,
 * or the caller's constant bytes (hs_nic_rx_ref), copied only into the
 * slot.  Entries are small, so walking the queue touches few lines.
 */
struct nsp_frame {
	uint16_t len, ilen;
	uint16_t vlan; /* 802.1Q TCI, valid if has_vlan */
	bool has_vlan;
	bool hash_ok; /* hash computed (RSS was on when it came) */
	uint16_t big_charge; /* bytes of rxbig it holds, a gap before it included */
	uint32_t hash;
	const uint8_t *tail;
	uint8_t head[NSP_FRAME_INLINE];
};

struct nsp_queue {
	struct nsp_frame *rxq; /* frames waiting for slots or ring space */
	/* tails copied (frames past NSP_FRAME_INLINE), packed one after the
	 * other in arrival order: a ring of NSP_RXBIG_SIZE bytes */
	uint8_t *rxbig;
	uint32_t big_wr, big_used;
	unsigned int rx_head, rx_count;
	unsigned int slots_out; /* data slots the guest holds for this queue */
	bool held; /* its channel stopped reading until the device can go on */
	uint64_t rx_frames, rx_bytes, rx_drops, rx_batches, rx_filtered;
	uint64_t big_wraps; /* times rxbig's next tail went back to its start */
	uint64_t tx_frames, tx_bytes, tx_errors;
};

struct nsp_ctl_msg {
	uint64_t due_ns; /* not sent before (--reply-delay) */
	uint32_t len;
	/* the largest reply: a query answer of 600 bytes after its 28-byte
	 * header (the 512-byte friendly name Linux asks for at probe) */
	uint8_t buf[640];
};

struct nsp_delayed {
	uint64_t due_ns;
	uint64_t tid;
	uint16_t queue;
	uint32_t status;
};

struct nsp_state {
	struct hs_dev *dev;
	/* NVSP */
	bool inited;
	bool ready; /* out of initialisation (OpenVMM NetChannel::initialize) */
	uint32_t nvsp_ver;
	bool have_config, have_ndis_ver;
	uint32_t mtu; /* with the Ethernet header */
	uint64_t caps;
	uint32_t ndis_major, ndis_minor;
	bool rxbuf, chim, revoked;
	uint16_t rxbuf_id;
	uint32_t slot_size, nslots;
	uint32_t nsections;
	/* RNDIS */
	bool rndis_inited;
	uint32_t filter;
	bool link_up; /* what the guest was last told */
	bool link_want; /* the backend's state */
	uint64_t link_change_ns;
	uint8_t mac[6];
	/* receive slots: -1 free, else the head slot of the batch holding it */
	int32_t *slot_batch;
	uint16_t *batch_len; /* frames in the batch whose head is the index */
	uint8_t *slot_queue;
	int32_t *slot_next; /* the batch's next slot, -1 at its end */
	/* free data slots, a FIFO of nslots entries from free_head: the slot
	 * the guest gave back longest ago goes out next, so the host writes
	 * lines the guest's cache has let go, in address order */
	uint32_t *free_slots;
	uint32_t free_head, nfree;
	uint16_t ctl_busy; /* bit per control slot */
	struct nsp_ctl_msg ctlq[NSP_CTLQ_CAP]; /* replies waiting for a slot */
	unsigned int ctl_head, ctl_count;
	/* RSS */
	bool rss_on;
	uint8_t rss_key[NDIS_RSS_KEY_SIZE];
	uint32_t rss_itab[NDIS_RSS_ITAB_MAX]; /* opts.rss_table entries used */
	uint32_t rss_hash_info;
	uint32_t rss_entries; /* entries the guest's table had */
	uint32_t rss_tab[NSP_HASH_INPUT][256]; /* each input byte's part of the hash */
	bool rss_tab_ok; /* rss_tab holds rss_key's contributions */
	/* queues, one per channel */
	struct nsp_queue q[HS_MAX_CHANS];
	unsigned int subch_want; /* subchannels granted, not yet offered */
	unsigned int subch_total;
	bool send_table_due;
	/* faults */
	enum hs_fault fault;
	uint64_t fault_arg;
	struct nsp_delayed *delayed;
	unsigned int ndelayed;
	uint64_t tx_total;
	/* counters */
	uint64_t ctl_requests, protocol_errors;
	uint64_t ctl_by_page, ctl_in_section; /* how control messages came */
	uint64_t rss_disables, rss_disables_empty; /* empty: no hash, table or key */
	uint64_t refusals; /* RNDIS statuses other than success the host answered */
	uint8_t scratch[NSP_RNDIS_MAX];
};

static inline struct nsp_state *nsp_of(struct hs_dev *dev)
{
	return dev->priv;
}

static inline unsigned int nsp_queues(struct nsp_state *ns)
{
	return ns->dev->nchans ? ns->dev->nchans : 1;
}

/* netvsp.c: back to the state of a device nobody opened */
void nsp_reset(struct nsp_state *ns);

/* netvsp_nvsp.c */
/* One packet from the guest (hs_dev_ops.packet). */
int nsp_packet(struct hs_chan *ch, const struct vmbus_pkt *pkt);
/* NVSP messages from the host are 40 bytes for 6.1, 32 before (netvsp). */
uint32_t nsp_out_size(struct nsp_state *ns);
/* Room for an answer of @len NVSP bytes; if not, asks to be signalled. */
bool nsp_room_for(struct hs_chan *ch, uint32_t len);
int nsp_rndis_complete(struct hs_chan *ch, uint64_t tid, uint32_t status);
/* Logs a protocol violation of the guest on @ch (what, and whose rule);
 * returns -EPROTO. */
int nsp_violation(struct nsp_state *ns, struct hs_chan *ch, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void nsp_send_indirection_table(struct nsp_state *ns);

/* netvsp_rndis.c */
/* One RNDIS control message (a private copy).  -EPROTO ends the service. */
int nsp_rndis_control(struct nsp_state *ns, const uint8_t *msg, uint32_t len);
/* Sends queued control replies while a control slot and ring space are free. */
void nsp_ctl_flush(struct nsp_state *ns);
/* Queues an indication (link, offload configuration) like a reply. */
void nsp_indicate(struct nsp_state *ns, uint32_t status, const void *buf, uint32_t len);

/* netvsp_data.c */
void nsp_slots_reset(struct nsp_state *ns);
/* The guest completed the batch (or control slot) @tid.  -EPROTO if unknown. */
int nsp_slots_release(struct nsp_state *ns, uint64_t tid);
/* Whether waiting frames can leave without reading the guest's ring again. */
bool nsp_rx_can_drain(struct nsp_state *ns);
/* Sends what waits on queue @qi while slots and ring space last. */
void nsp_rx_flush(struct nsp_state *ns, unsigned int qi);
/* An RNDIS_PKT from the guest: control, or frames for the wire. */
int nsp_rndis_pkt(struct nsp_state *ns, struct hs_chan *ch, const struct vmbus_pkt *pkt,
		  const struct nvsp_rndis_pkt *rp, bool malformed);

/* netvsp_offload.c */
/* The offloads a guest asks for on one frame (its per-packet information). */
struct nsp_txoff {
	uint32_t csum; /* RNDIS_PPI_CSUM: NDIS_TXCSUM_* */
	uint32_t lso;  /* RNDIS_PPI_LSO: NDIS_LSO2_* */
	bool has_csum, has_lso;
};
/*
 * Frame @f from the guest with what @o asks done: its checksums filled in,
 * or its TCP payload cut into segments; each frame that results goes to
 * @emit.  -EINVAL if the frame cannot be what @o says; else what @emit
 * returned first that was not 0.
 */
int nsp_tx_offload(struct nsp_state *ns, const uint8_t *f, uint32_t len, const struct nsp_txoff *o,
		   int (*emit)(void *arg, const uint8_t *frame, uint32_t len), void *arg);

#endif /* HOSTSIM_NETVSP_H */
