/* SPDX-License-Identifier: MIT */
/*
 * codec.h - netvsc-user's NVSP, RNDIS and NDIS codec (private).
 *
 * Builders turn what the guest wants to say into wire bytes; parsers turn
 * what the host said into small result structs.  No I/O, no allocation, no
 * state: the attach sequence, the receive path and the control requests
 * call these and decide what to do with the results.
 *
 * Builders
 *   int xxx_build_yyy(void *out, size_t cap, ...)
 *   They zero every byte they write (padding and reserved fields included,
 *   so no stale guest memory reaches the host) and return the number of
 *   bytes written, or
 *     -ENOBUFS  @cap is smaller than the message
 *     -EINVAL   an argument the format cannot carry (a request id of 0, an
 *               LSO MSS wider than 20 bits, a length that overflows a 32-bit
 *               field, a NULL pointer with a non-zero length ...)
 *   Every NVSP request is NVSP_MSG_SIZE (40) bytes, except RNDIS_PKT_COMP,
 *   which is 8 like Linux's: it is sent for every receive packet and hosts
 *   read only its status.
 *
 * Parsers
 *   int xxx_parse_yyy(const void *buf, size_t len, ..., struct ... *out)
 *   @buf must be a private copy that the host can no longer write (a
 *   vmbus_pkt from libvmbus, or a range copied out of the receive buffer):
 *   parsers read each field once, but a caller that acts on a result must
 *   read the same bytes the parser checked.  Results never point into
 *   @buf; where data follows (the frame of a data packet, the information
 *   buffer of a query completion) they give an offset and a length from the
 *   start of @buf, already checked to lie inside it.  Every bound is
 *   checked in a form that cannot wrap (off > len || n > len - off).
 *   Return values:
 *     0         parsed; *out filled.  A failure status from the host is a
 *               valid answer, reported in out->status, not an error; the
 *               fields that only mean something on success are then 0.
 *     -EBADMSG  malformed: shorter than its type needs, a length, offset or
 *               count that points outside the message or back into its
 *               header, a sub-element that does not fit (PPI), a value the
 *               format itself forbids (a frame shorter than an Ethernet
 *               header, a PPI payload too small for its type).
 *     -EPROTO   well formed, but not acceptable from a correct host: a
 *               message of another type than the parser reads, or values
 *               that contradict the protocol or what the guest asked or
 *               shared (a receive buffer layout that does not fit our
 *               buffer, more subchannels than requested, a send table entry
 *               naming a channel we do not have, an absurd alignment).
 *     -EINVAL   the caller passed NULL for @buf or @out.
 *   On an error *out is left zeroed.  Callers treat -EBADMSG and -EPROTO
 *   alike (drop and count, or fail the attach); the split tells a log
 *   whether the host's framing or its content was wrong.
 */
#ifndef NETVSC_CODEC_H
#define NETVSC_CODEC_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <netvsc/proto.h>
#include <vmbus/vmbus.h>

/* Ethernet header: the smallest frame a data packet may carry. */
#define NETVSC_ETH_HLEN 14u

/*
 * Smallest receive or send section the guest accepts: Linux's
 * NETVSC_MTU_MIN (68), which also holds a data packet header and an
 * Ethernet header.
 */
#define NETVSC_MIN_SECTION_SIZE 68u

/* Largest RNDIS alignment factor accepted: 1 << 12 = one page. */
#define NETVSC_RNDIS_MAX_ALIGN_SHIFT 12u
/* Aggregated packets are aligned to at least this (DPDK's floor). */
#define NETVSC_RNDIS_MIN_ALIGN 4u

/*
 * For the builders of codec_*.c: copies @n bytes of a message built in a
 * zeroed local into @out, and returns what a builder returns.
 */
static inline int codec_emit(void *out, size_t cap, const void *msg, size_t n)
{
	if (!out)
		return -EINVAL;
	if (cap < n)
		return -ENOBUFS;
	memcpy(out, msg, n);
	return (int)n;
}

/* ======================================================================== */
/* NVSP builders (guest to host)                                             */
/* ======================================================================== */

/* INIT for exactly one version (min = max): hosts match the first field. */
int nvsp_build_init(void *out, size_t cap, uint32_t version);

/* NDIS_CONFIG: @mtu includes the 14-byte Ethernet header. */
int nvsp_build_ndis_config(void *out, size_t cap, uint32_t mtu, uint64_t caps);

/* NDIS_VER from NDIS_VERSION_6_1 / NDIS_VERSION_6_30 (major << 16 | minor). */
int nvsp_build_ndis_ver(void *out, size_t cap, uint32_t ndis_version);

int nvsp_build_rxbuf_conn(void *out, size_t cap, uint32_t gpadl, uint16_t id);
int nvsp_build_chim_conn(void *out, size_t cap, uint32_t gpadl, uint16_t id);
int nvsp_build_rxbuf_revoke(void *out, size_t cap, uint16_t id);
int nvsp_build_chim_revoke(void *out, size_t cap, uint16_t id);

/*
 * RNDIS_PKT announcing one RNDIS message: @channel_type NVSP_CHANNEL_DATA
 * or _CONTROL; the message is either in send section @section_index
 * (@section_size bytes of it, > 0) or, with NVSP_CHIM_IDX_NONE and size 0,
 * in the GPA ranges of the same VMBus packet.
 */
int nvsp_build_rndis_pkt(void *out, size_t cap, uint32_t channel_type, uint32_t section_index,
			 uint32_t section_size);

/* RNDIS_PKT_COMP for a receive packet (8 bytes). */
int nvsp_build_rndis_pkt_comp(void *out, size_t cap, uint32_t status);

/* SUBCH allocate request for @count subchannels (1 .. NVSP_MAX_CHANNELS - 1). */
int nvsp_build_subch_req(void *out, size_t cap, uint32_t count);

/* SWITCH_DATA_PATH to NVSP_DATAPATH_SYNTHETIC or NVSP_DATAPATH_VF. */
int nvsp_build_switch_data_path(void *out, size_t cap, uint32_t datapath);

/* ======================================================================== */
/* NVSP parsers (host to guest)                                              */
/* ======================================================================== */

/*
 * The type of an NVSP message and whether it is one the host may send:
 * returns 0, -EBADMSG (shorter than 4 bytes or than the minimum for its
 * type, see nvsp_min_len), or -ENOMSG for a type the guest never expects
 * from a host (unknown, or a guest-to-host request).  *type is filled
 * whenever the 4 bytes are there, so that a caller can log what it drops.
 */
int nvsp_msg_type(const void *buf, size_t len, uint32_t *type);

/* Minimum length of a host-to-guest message of @type, 0 if not one. */
size_t nvsp_min_len(uint32_t type);

struct nvsp_init_info {
	uint32_t status; /* NVSP_STATUS_SUCCESS, or NONE/FAILURE: try another */
	uint32_t max_mdl_chain_len;
};
int nvsp_parse_init_comp(const void *buf, size_t len, struct nvsp_init_info *out);

/*
 * Receive buffer layout.  On success the host must describe exactly one
 * section at offset 0, of section_count >= 1 slots of section_size >=
 * NETVSC_MIN_SECTION_SIZE bytes, all inside our @rxbuf_size bytes (the
 * product is computed in 64 bits); else -EPROTO.
 */
struct nvsp_rxbuf_info {
	uint32_t status;
	uint32_t section_size;
	uint32_t section_count;
};
int nvsp_parse_rxbuf_conn_comp(const void *buf, size_t len, uint64_t rxbuf_size,
			       struct nvsp_rxbuf_info *out);

/*
 * Send buffer sections.  On success the size must be non-zero and fit our
 * @chim_size bytes (else -EPROTO).  A size below NETVSC_MIN_SECTION_SIZE
 * cannot hold a packet: it is accepted (an RFC host sent 1 to mean "no
 * send buffer") with section_count 0, and the guest sends every packet by
 * GPA ranges, as FreeBSD does.
 */
struct nvsp_chim_info {
	uint32_t status;
	uint32_t section_size;
	uint32_t section_count; /* @chim_size / section_size, or 0 */
};
int nvsp_parse_chim_conn_comp(const void *buf, size_t len, uint64_t chim_size,
			      struct nvsp_chim_info *out);

/* RNDIS_PKT from the host (the in-band part of a receive packet). */
struct nvsp_rndis_pkt_info {
	uint32_t channel_type; /* reported; hosts use 1 for control replies */
	uint32_t section_index;
	uint32_t section_size;
};
int nvsp_parse_rndis_pkt(const void *buf, size_t len, struct nvsp_rndis_pkt_info *out);

/* Completion of one of our RNDIS_PKT sends. */
int nvsp_parse_rndis_pkt_comp(const void *buf, size_t len, uint32_t *status);

/* SUBCH completion: granted must not exceed @requested (-EPROTO). */
struct nvsp_subch_info {
	uint32_t status;
	uint32_t count; /* subchannels granted; 0 unless status is success */
};
int nvsp_parse_subch_comp(const void *buf, size_t len, uint32_t requested,
			  struct nvsp_subch_info *out);

/*
 * SEND_INDIRECTION_TABLE.  count must be NVSP_SEND_TABLE_SIZE (-EPROTO).
 * Hosts of NVSP <= 6 write a wrong offset; as Linux does, for a session of
 * @nvsp_version <= NVSP_VERSION_6 whose message is long enough, the table
 * is read at NVSP_SEND_TABLE_FIXED_OFFSET instead.  The table must lie in
 * the message after its 12-byte header (-EBADMSG).  If @nchan is non-zero,
 * every entry must be < @nchan (-EPROTO), so entries can index per-channel
 * arrays directly.
 */
struct nvsp_send_table_info {
	uint32_t entry[NVSP_SEND_TABLE_SIZE];
	uint32_t offset; /* where the table was read */
	bool offset_fixed; /* the host bug was fixed up */
};
int nvsp_parse_send_table(const void *buf, size_t len, uint32_t nvsp_version, uint32_t nchan,
			  struct nvsp_send_table_info *out);

struct nvsp_vf_info {
	bool allocated;
	uint32_t serial;
};
int nvsp_parse_vf_assoc(const void *buf, size_t len, struct nvsp_vf_info *out);

/* SWITCH_DATA_PATH from the host (falling back to synthetic): 0 or 1. */
int nvsp_parse_switch_data_path(const void *buf, size_t len, uint32_t *datapath);

/*
 * A receive packet as libvmbus delivers it: a transfer-page packet on our
 * receive buffer (NVSP_RXBUF_ID, else -EPROTO) whose in-band part is an
 * RNDIS_PKT (else -EPROTO; -EBADMSG if short).  libvmbus has already
 * checked every range against the receive buffer size.
 */
int nvsp_parse_xfer(const struct vmbus_pkt *pkt, struct nvsp_rndis_pkt_info *out);

/*
 * One range of a receive packet, before copying it out: non-empty, inside
 * the @rxbuf_size-byte buffer and no longer than a section (each range is
 * one RNDIS message in one section).  0 or -EBADMSG.
 */
int nvsp_check_range(const struct vmbus_xfer_range *range, uint64_t rxbuf_size,
		     uint32_t section_size);

/* ======================================================================== */
/* RNDIS builders (guest to host)                                            */
/* ======================================================================== */

/* INITIALIZE, version 1.0.  @rid must be non-zero (as for every request). */
int rndis_build_init(void *out, size_t cap, uint32_t rid, uint32_t max_xfer);

/* QUERY @oid, with an optional input buffer (e.g. an NDIS object header). */
int rndis_build_query(void *out, size_t cap, uint32_t rid, uint32_t oid, const void *in,
		      uint32_t in_len);

/* SET @oid to @info_len bytes of @info (placed right after the header). */
int rndis_build_set(void *out, size_t cap, uint32_t rid, uint32_t oid, const void *info,
		    uint32_t info_len);

int rndis_build_halt(void *out, size_t cap, uint32_t rid);
int rndis_build_keepalive(void *out, size_t cap, uint32_t rid);
/* Answer to a host keepalive: @rid echoes the host's (any value). */
int rndis_build_keepalive_cmplt(void *out, size_t cap, uint32_t rid, uint32_t status);

/* What goes into the per-packet info of a transmitted frame. */
#define RNDIS_TX_VLAN 0x1u
#define RNDIS_TX_CSUM 0x2u /* exclusive with RNDIS_TX_LSO */
#define RNDIS_TX_LSO 0x4u
#define RNDIS_TX_HASH 0x8u

struct rndis_tx_meta {
	uint32_t flags; /* RNDIS_TX_* */
	uint16_t vlan_tci; /* 802.1Q TCI: priority 15..13, DEI 12, id 11..0 */
	uint32_t csum; /* NDIS_TXCSUM_IPV4/IPV6/TCP/UDP/IP_HDR */
	uint16_t l4_offset; /* CSUM and LSO: L4 header offset, < 1024 */
	uint32_t mss; /* LSO: < 1 << 20, non-zero */
	bool lso_ipv6; /* LSO: IPv6 rather than IPv4 */
	uint32_t hash; /* HASH: the queue (DPDK) or flow hash (Linux) */
};

/*
 * The header of a data packet carrying a @data_len-byte frame
 * (>= NETVSC_ETH_HLEN): RNDIS_PACKET plus the PPIs @meta asks for (NULL:
 * none), in the order hash, VLAN, LSO or checksum.  The frame goes right
 * after the returned number of bytes; the message length written into the
 * header counts it.  -EINVAL if a @meta field is out of range or the total
 * would overflow 32 bits.
 */
int rndis_build_packet(void *out, size_t cap, uint32_t data_len, const struct rndis_tx_meta *meta);

/* Largest header rndis_build_packet writes: 44 + 3 PPIs. */
#define RNDIS_TX_HDR_MAX (sizeof(struct rndis_packet) + 3 * RNDIS_PPI_U32_SIZE)

/* ======================================================================== */
/* RNDIS parsers (host to guest)                                             */
/* ======================================================================== */

/*
 * The header of the RNDIS message at @buf: 8 <= msg_len <= @len (-EBADMSG).
 * Everything after msg_len is ignored by every parser: hosts report a whole
 * receive slot as the range length.
 */
struct rndis_hdr_info {
	uint32_t type; /* RNDIS_MSG_* */
	uint32_t msg_len;
};
int rndis_parse_hdr(const void *buf, size_t len, struct rndis_hdr_info *out);

/* What rndis_parse_packet found in the per-packet info. */
#define RNDIS_RX_HAVE_CSUM 0x01u
#define RNDIS_RX_HAVE_VLAN 0x02u
#define RNDIS_RX_HAVE_HASH_VALUE 0x04u
#define RNDIS_RX_HAVE_HASH_INFO 0x08u
#define RNDIS_RX_HAVE_LSO 0x10u
#define RNDIS_RX_HAVE_PKTINFO_ID 0x20u

struct rndis_rx_info {
	uint32_t msg_len;
	uint32_t data_off; /* the frame: from the start of the message */
	uint32_t data_len; /* >= NETVSC_ETH_HLEN */
	uint32_t have; /* RNDIS_RX_HAVE_* */
	uint32_t csum; /* NDIS_RXCSUM_* (received) or NDIS_TXCSUM_* (sent) */
	uint16_t vlan_tci; /* 802.1Q TCI order (converted from NDIS) */
	uint32_t hash_value;
	uint32_t hash_info; /* NDIS_HASH_* */
	uint32_t lso; /* raw NDIS_LSO2_* word */
	uint8_t frag_flags; /* RNDIS_PKTINFO_*: a frame split over sections */
	uint16_t frag_id;
	uint32_t ppi_count; /* elements walked, known or not */
};

/*
 * An RNDIS_PACKET (one frame).  Offsets count from byte 8 and must not
 * point back into the 44-byte header; the frame and the PPI area must lie
 * inside msg_len.  The out-of-band fields are ignored: nothing reads OOB
 * data, no host sends any, and Linux ignores them too, so rejecting them
 * would only turn a harmless quirk into a drop.  A PPI type seen twice
 * keeps its first value; unknown types are skipped.
 */
int rndis_parse_packet(const void *buf, size_t len, struct rndis_rx_info *out);

/*
 * The PPI walk alone, over @len bytes of elements: each has size >= 12, a
 * 4-byte multiple, <= what remains; its offset is >= 12 and < size; its
 * payload is big enough for its type.  A zero size cannot loop: it is
 * rejected.  Fills the PPI fields of @out (and ppi_count).
 */
int rndis_parse_ppi(const void *buf, size_t len, struct rndis_rx_info *out);

/*
 * INITIALIZE_CMPLT.  On success: align_factor > NETVSC_RNDIS_MAX_ALIGN_SHIFT
 * is -EPROTO; agg_align = 1 << factor, at least NETVSC_RNDIS_MIN_ALIGN;
 * agg_pkts = max_pkts, at least 1 (0 would let an aggregator send nothing);
 * max_xfer must hold a data packet header and an Ethernet header (-EPROTO).
 */
struct rndis_init_info {
	uint32_t rid;
	uint32_t status;
	uint32_t ver_major;
	uint32_t ver_minor;
	uint32_t medium;
	uint32_t max_pkts; /* as sent */
	uint32_t max_xfer;
	uint32_t align_factor; /* as sent */
	uint32_t agg_pkts; /* sanitised */
	uint32_t agg_align; /* sanitised, a power of 2 */
};
int rndis_parse_init_cmplt(const void *buf, size_t len, struct rndis_init_info *out);

/*
 * QUERY_CMPLT.  When info_len > 0 its offset (from byte 8) must be >= 16,
 * i.e. past the completion's own fields, and the buffer must lie in
 * msg_len.  With info_len 0 the offset is ignored.
 */
struct rndis_query_info {
	uint32_t rid;
	uint32_t status;
	uint32_t info_off; /* from the start of the message; 0 if no info */
	uint32_t info_len;
};
int rndis_parse_query_cmplt(const void *buf, size_t len, struct rndis_query_info *out);

/* Completions with only an id and a status: SET_CMPLT, KEEPALIVE_CMPLT. */
struct rndis_cmplt_info {
	uint32_t rid;
	uint32_t status;
};
int rndis_parse_set_cmplt(const void *buf, size_t len, struct rndis_cmplt_info *out);
int rndis_parse_keepalive_cmplt(const void *buf, size_t len, struct rndis_cmplt_info *out);

/* A keepalive request from the host: answer with its rid. */
int rndis_parse_keepalive(const void *buf, size_t len, uint32_t *rid);

struct rndis_reset_info {
	uint32_t status;
	uint32_t addressing_reset;
};
int rndis_parse_reset_cmplt(const void *buf, size_t len, struct rndis_reset_info *out);

/*
 * INDICATE_STATUS.  The status buffer offset counts from byte 8; when
 * buf_len > 0 it must be >= 12 (past the indication's own fields) and the
 * buffer must lie in msg_len.
 */
struct rndis_indicate_info {
	uint32_t status; /* RNDIS_STATUS_MEDIA_CONNECT etc. */
	uint32_t buf_off; /* from the start of the message; 0 if none */
	uint32_t buf_len;
};
int rndis_parse_indicate(const void *buf, size_t len, struct rndis_indicate_info *out);

/* ======================================================================== */
/* NDIS objects                                                              */
/* ======================================================================== */

/* An object header, for query input buffers and the builders below. */
struct ndis_object_hdr ndis_obj_hdr(uint8_t type, uint8_t revision, uint16_t size);

/*
 * RSS parameters: the revision 2 object, then @nitab (1 ..
 * NDIS_RSS_ITAB_MAX) channel indices < NVSP_MAX_CHANNELS, then the 40-byte
 * key: NDIS_RSS_PARAMS_TOEPLITZ_SIZE(@nitab) bytes.  @itab or @key NULL
 * write zeros there.  Returns the size, -EINVAL or -ENOBUFS.
 */
int ndis_build_rss_params(void *out, size_t cap, uint16_t flags, uint32_t hash_info,
			  const uint32_t *itab, uint32_t nitab, const uint8_t *key);

/*
 * Offload parameters from @p (its header is ignored), at @revision
 * NDIS_OFFLOAD_PARAMS_REV_2 (22 bytes, NDIS 6.1) or _REV_3 (28 bytes).
 */
int ndis_build_offload_params(void *out, size_t cap, uint8_t revision,
			      const struct ndis_offload_params *p);

/*
 * Offload capabilities from a query: type NDIS_OBJTYPE_OFFLOAD (-EPROTO),
 * revision >= 1 (-EPROTO), NDIS_OFFLOAD_SIZE_REV_1 <= size <= @len
 * (-EBADMSG).  *out gets the object, zero-filled past its size.
 */
int ndis_parse_offload_caps(const void *buf, size_t len, struct ndis_offload *out);

/*
 * RSS capabilities: type NDIS_OBJTYPE_RSS_CAPS, revision >= 1 (-EPROTO),
 * NDIS_RSS_CAPS_SIZE_REV_1 <= size <= @len (-EBADMSG).  Revision 2
 * objects carry an indirection table size, given as the host sent it (any
 * value: the caller applies its rule); older ones give 0 (not said).
 */
struct ndis_rss_caps_info {
	uint32_t caps;
	uint32_t num_rx_queues;
	uint32_t num_indirection;
};
int ndis_parse_rss_caps(const void *buf, size_t len, struct ndis_rss_caps_info *out);

/*
 * Link state: type NDIS_OBJTYPE_DEFAULT, revision >= 1 (-EPROTO),
 * sizeof(struct ndis_link_state) <= size <= @len (-EBADMSG).
 */
int ndis_parse_link_state(const void *buf, size_t len, struct ndis_link_state *out);

#endif /* NETVSC_CODEC_H */
