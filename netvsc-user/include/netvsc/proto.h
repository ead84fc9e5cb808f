/* SPDX-License-Identifier: MIT */
/*
 * netvsc/proto.h - the wire formats of Hyper-V synthetic networking.
 *
 * Three protocols nest inside a VMBus channel:
 *
 *   NVSP   the Network VSP protocol: fixed 40-byte messages, a 32-bit type
 *          first; it sets up the receive and send buffers and carries
 *          RNDIS messages (NVSP_MSG_RNDIS_PKT) in either direction.
 *   RNDIS  Remote NDIS 1.0: control requests and their completions, status
 *          indications and data packets (RNDIS_MSG_PACKET), each starting
 *          with {type, length}.
 *   NDIS   the objects, OIDs and per-packet information RNDIS carries.
 *
 * This header is shared by the guest driver (netvsc-user) and the host
 * simulator (vmbus-hostsim): it holds formats and constants only, never
 * logic.  Every structure is the exact little-endian wire layout, packed,
 * so it can be laid over any byte buffer; every size and field offset is
 * pinned by a _Static_assert at the bottom, so a change that moves a field
 * fails to compile.  Read fields from a private copy of host data (memcpy
 * the struct out first): the host may change shared memory at any time.
 *
 * Where the facts come from: Linux drivers/net/hyperv/hyperv_net.h and
 * include/linux/rndis.h; DPDK drivers/net/netvsc/hn_nvs.h, rndis.h and
 * ndis.h (themselves derived from FreeBSD's hn driver); OpenVMM
 * vm/devices/net/netvsp/src/protocol.rs and rndisprot.rs (what a host
 * sends); summarised in the project's reference/dpdk-netvsc.md (section 2)
 * and reference/host-side.md (section 3).  Offsets below are bytes from
 * the start of the message or object.
 */
#ifndef NETVSC_PROTO_H
#define NETVSC_PROTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The structs hold fields in host order; the wire is little endian. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "netvsc wire formats assume a little-endian host");

#define NETVSC_PACKED __attribute__((packed))

/* ======================================================================== */
/* NVSP                                                                      */
/* ======================================================================== */

/*
 * Every NVSP request the guest sends is NVSP_MSG_SIZE bytes, zero padded:
 * a 4-byte type and a 36-byte union in Linux's struct nvsp_message.  Hosts
 * ignore shorter requests (FreeBSD documents a 12-byte INIT that is never
 * answered).  Host messages may be shorter (OpenVMM pads to 32 bytes below
 * NVSP 6.1); receivers check a minimum per type.
 */
#define NVSP_MSG_SIZE 40u

/* Message types (NVSP 1 unless noted). */
#define NVSP_MSG_INIT 1u /* guest: version range; host answers INIT_COMP */
#define NVSP_MSG_INIT_COMP 2u
#define NVSP_MSG_NDIS_VER 100u /* guest: NDIS version; no answer */
#define NVSP_MSG_RXBUF_CONN 101u /* guest: receive buffer GPADL */
#define NVSP_MSG_RXBUF_CONN_COMP 102u
#define NVSP_MSG_RXBUF_REVOKE 103u /* guest; no answer */
#define NVSP_MSG_CHIM_CONN 104u /* guest: send ("chimney") buffer GPADL */
#define NVSP_MSG_CHIM_CONN_COMP 105u
#define NVSP_MSG_CHIM_REVOKE 106u /* guest; no answer */
#define NVSP_MSG_RNDIS_PKT 107u /* both ways: carries one RNDIS message */
#define NVSP_MSG_RNDIS_PKT_COMP 108u /* both ways: completes an RNDIS_PKT */
/* 109..124: NVSP 2 chimney/VMQ messages, used by no guest driver. */
#define NVSP_MSG_NDIS_CONFIG 125u /* NVSP 2, guest: MTU and capabilities */
/* 126, 127: NVSP 2 chimney handles, unused. */
#define NVSP_MSG_VF_ASSOC 128u /* NVSP 4, host: a VF is (dis)associated */
#define NVSP_MSG_SWITCH_DATA_PATH 129u /* NVSP 4, both: synthetic or VF */
#define NVSP_MSG_UPLINK_CONNECT 130u /* NVSP 4, deprecated */
#define NVSP_MSG_OID_QUERY_EX 131u /* NVSP 5, unused */
#define NVSP_MSG_OID_QUERY_EX_COMP 132u
#define NVSP_MSG_SUBCH 133u /* NVSP 5: request and completion share it */
#define NVSP_MSG_SEND_INDIRECTION_TABLE 134u /* NVSP 5, host: TX table */
#define NVSP_MSG_PD_API 135u /* NVSP 6 PacketDirect, unused */
#define NVSP_MSG_PD_POST_BATCH 136u

/* Protocol versions, as sent in INIT (one version per try). */
#define NVSP_VERSION_1 0x00002u
#define NVSP_VERSION_2 0x30002u
#define NVSP_VERSION_4 0x40000u
#define NVSP_VERSION_5 0x50000u
#define NVSP_VERSION_6 0x60000u
#define NVSP_VERSION_61 0x60001u

/* Status in completions.  A host answers an unsupported INIT with NONE. */
#define NVSP_STATUS_NONE 0u
#define NVSP_STATUS_SUCCESS 1u
#define NVSP_STATUS_FAILURE 2u
#define NVSP_STATUS_TOO_NEW 3u
#define NVSP_STATUS_TOO_OLD 4u
#define NVSP_STATUS_INVALID_RNDIS 5u
#define NVSP_STATUS_BUSY 6u
#define NVSP_STATUS_UNSUPPORTED 7u

/*
 * Buffer ids.  The host echoes the receive buffer id as the transfer page
 * set id of every receive packet.  The send buffer id is never echoed:
 * Linux sends 0, DPDK and FreeBSD 0xFACE, and hosts accept both.
 */
#define NVSP_RXBUF_ID 0xCAFEu
#define NVSP_CHIM_ID 0xFACEu

/* RNDIS_PKT channel_type. */
#define NVSP_CHANNEL_DATA 0u
#define NVSP_CHANNEL_CONTROL 1u
/* RNDIS_PKT section_index when the message is not in a send section. */
#define NVSP_CHIM_IDX_NONE 0xFFFFFFFFu

/* NDIS_CONFIG capability bits (a 64-bit field). */
#define NVSP_NDIS_CAP_VMQ (1ull << 0)
#define NVSP_NDIS_CAP_CHIMNEY (1ull << 1)
#define NVSP_NDIS_CAP_SRIOV (1ull << 2)
#define NVSP_NDIS_CAP_IEEE8021Q (1ull << 3)
#define NVSP_NDIS_CAP_CORRELATION_ID (1ull << 4)
#define NVSP_NDIS_CAP_TEAMING (1ull << 5)
#define NVSP_NDIS_CAP_VSUBNETID (1ull << 6)
#define NVSP_NDIS_CAP_RSC (1ull << 7)

/* SUBCH operation. */
#define NVSP_SUBCH_OP_ALLOCATE 1u
/* At most 64 channels per NIC: the primary and 63 subchannels. */
#define NVSP_MAX_CHANNELS 64u

/* SWITCH_DATA_PATH active_datapath. */
#define NVSP_DATAPATH_SYNTHETIC 0u
#define NVSP_DATAPATH_VF 1u

/* SEND_INDIRECTION_TABLE: always this many u32 channel numbers. */
#define NVSP_SEND_TABLE_SIZE 16u
/*
 * Where the table really is on hosts of NVSP <= 6, whose offset field is
 * wrong: right after a full-size message (type + the 36-byte union).
 */
#define NVSP_SEND_TABLE_FIXED_OFFSET NVSP_MSG_SIZE

/* Message layouts: each starts with its 32-bit type. */

struct nvsp_msg_hdr {
	uint32_t type;
} NETVSC_PACKED;

struct nvsp_init {
	uint32_t type; /* NVSP_MSG_INIT */
	uint32_t ver_min;
	uint32_t ver_max;
} NETVSC_PACKED;

struct nvsp_init_comp {
	uint32_t type; /* NVSP_MSG_INIT_COMP */
	uint32_t negotiated_ver; /* deprecated; hosts send junk */
	uint32_t max_mdl_chain_len;
	uint32_t status;
} NETVSC_PACKED;

struct nvsp_ndis_ver {
	uint32_t type; /* NVSP_MSG_NDIS_VER */
	uint32_t ndis_major;
	uint32_t ndis_minor;
} NETVSC_PACKED;

struct nvsp_ndis_config {
	uint32_t type; /* NVSP_MSG_NDIS_CONFIG */
	uint32_t mtu; /* L3 MTU + 14 (the Ethernet header) */
	uint32_t reserved;
	uint64_t caps; /* NVSP_NDIS_CAP_*; unaligned on the wire */
} NETVSC_PACKED;

struct nvsp_rxbuf_conn {
	uint32_t type; /* NVSP_MSG_RXBUF_CONN */
	uint32_t gpadl;
	uint16_t id; /* NVSP_RXBUF_ID */
	uint16_t reserved;
} NETVSC_PACKED;

/* One receive-buffer section: num_sub_allocs slots of sub_alloc_size. */
struct nvsp_rxbuf_section {
	uint32_t offset;
	uint32_t sub_alloc_size;
	uint32_t num_sub_allocs;
	uint32_t end_offset;
} NETVSC_PACKED;

struct nvsp_rxbuf_conn_comp {
	uint32_t type; /* NVSP_MSG_RXBUF_CONN_COMP */
	uint32_t status;
	uint32_t num_sections; /* every host sends exactly 1 */
	struct nvsp_rxbuf_section sections[1];
} NETVSC_PACKED;

struct nvsp_rxbuf_revoke {
	uint32_t type; /* NVSP_MSG_RXBUF_REVOKE */
	uint16_t id;
	uint16_t reserved;
} NETVSC_PACKED;

struct nvsp_chim_conn {
	uint32_t type; /* NVSP_MSG_CHIM_CONN */
	uint32_t gpadl;
	uint16_t id; /* NVSP_CHIM_ID */
	uint16_t reserved;
} NETVSC_PACKED;

struct nvsp_chim_conn_comp {
	uint32_t type; /* NVSP_MSG_CHIM_CONN_COMP */
	uint32_t status;
	uint32_t section_size; /* the send buffer is cut in sections of this */
} NETVSC_PACKED;

struct nvsp_chim_revoke {
	uint32_t type; /* NVSP_MSG_CHIM_REVOKE */
	uint16_t id;
	uint16_t reserved;
} NETVSC_PACKED;

struct nvsp_rndis_pkt {
	uint32_t type; /* NVSP_MSG_RNDIS_PKT */
	uint32_t channel_type; /* NVSP_CHANNEL_* */
	uint32_t section_index; /* send section, or NVSP_CHIM_IDX_NONE */
	uint32_t section_size; /* bytes used in it, 0 if none */
} NETVSC_PACKED;

struct nvsp_rndis_pkt_comp {
	uint32_t type; /* NVSP_MSG_RNDIS_PKT_COMP */
	uint32_t status;
} NETVSC_PACKED;

struct nvsp_vf_assoc {
	uint32_t type; /* NVSP_MSG_VF_ASSOC */
	uint32_t allocated; /* non-zero: a VF is there */
	uint32_t serial; /* matches the VF's PCI slot name */
} NETVSC_PACKED;

struct nvsp_switch_data_path {
	uint32_t type; /* NVSP_MSG_SWITCH_DATA_PATH */
	uint32_t active_datapath; /* NVSP_DATAPATH_* */
} NETVSC_PACKED;

struct nvsp_subch_req {
	uint32_t type; /* NVSP_MSG_SUBCH */
	uint32_t op; /* NVSP_SUBCH_OP_ALLOCATE */
	uint32_t num_subchannels;
} NETVSC_PACKED;

struct nvsp_subch_comp {
	uint32_t type; /* NVSP_MSG_SUBCH */
	uint32_t status;
	uint32_t num_subchannels; /* granted; never more than asked */
} NETVSC_PACKED;

/* Followed, at @offset from the message start, by count u32 channel ids. */
struct nvsp_send_table {
	uint32_t type; /* NVSP_MSG_SEND_INDIRECTION_TABLE */
	uint32_t count; /* NVSP_SEND_TABLE_SIZE */
	uint32_t offset;
} NETVSC_PACKED;

/* Any NVSP message, at its full padded size. */
union nvsp_msg {
	uint32_t type;
	struct nvsp_init init;
	struct nvsp_init_comp init_comp;
	struct nvsp_ndis_ver ndis_ver;
	struct nvsp_ndis_config ndis_config;
	struct nvsp_rxbuf_conn rxbuf_conn;
	struct nvsp_rxbuf_conn_comp rxbuf_conn_comp;
	struct nvsp_rxbuf_revoke rxbuf_revoke;
	struct nvsp_chim_conn chim_conn;
	struct nvsp_chim_conn_comp chim_conn_comp;
	struct nvsp_chim_revoke chim_revoke;
	struct nvsp_rndis_pkt rndis_pkt;
	struct nvsp_rndis_pkt_comp rndis_pkt_comp;
	struct nvsp_vf_assoc vf_assoc;
	struct nvsp_switch_data_path switch_data_path;
	struct nvsp_subch_req subch_req;
	struct nvsp_subch_comp subch_comp;
	struct nvsp_send_table send_table;
	uint8_t raw[NVSP_MSG_SIZE];
} NETVSC_PACKED;

/* ======================================================================== */
/* RNDIS                                                                     */
/* ======================================================================== */

#define RNDIS_VERSION_MAJOR 1u
#define RNDIS_VERSION_MINOR 0u

/* Message types.  A completion is its request's type | RNDIS_MSG_CMPLT. */
#define RNDIS_MSG_CMPLT 0x80000000u
#define RNDIS_MSG_PACKET 0x00000001u
#define RNDIS_MSG_INIT 0x00000002u
#define RNDIS_MSG_INIT_CMPLT 0x80000002u
#define RNDIS_MSG_HALT 0x00000003u /* no completion */
#define RNDIS_MSG_QUERY 0x00000004u
#define RNDIS_MSG_QUERY_CMPLT 0x80000004u
#define RNDIS_MSG_SET 0x00000005u
#define RNDIS_MSG_SET_CMPLT 0x80000005u
#define RNDIS_MSG_RESET 0x00000006u
#define RNDIS_MSG_RESET_CMPLT 0x80000006u
#define RNDIS_MSG_INDICATE 0x00000007u /* host: status indication */
#define RNDIS_MSG_KEEPALIVE 0x00000008u
#define RNDIS_MSG_KEEPALIVE_CMPLT 0x80000008u
#define RNDIS_MSG_SET_EX 0x00000009u /* a host treats it as fatal */
#define RNDIS_MSG_SET_EX_CMPLT 0x80000009u

/* Status codes (NDIS_STATUS_*) in completions and indications. */
#define RNDIS_STATUS_SUCCESS 0x00000000u
#define RNDIS_STATUS_PENDING 0x00000103u
#define RNDIS_STATUS_MEDIA_CONNECT 0x4001000Bu
#define RNDIS_STATUS_MEDIA_DISCONNECT 0x4001000Cu
#define RNDIS_STATUS_LINK_SPEED_CHANGE 0x40010013u
#define RNDIS_STATUS_NETWORK_CHANGE 0x40010018u
#define RNDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG 0x40020006u
#define RNDIS_STATUS_BUFFER_OVERFLOW 0x80000005u
#define RNDIS_STATUS_FAILURE 0xC0000001u
#define RNDIS_STATUS_RESOURCES 0xC000009Au
#define RNDIS_STATUS_NOT_SUPPORTED 0xC00000BBu
#define RNDIS_STATUS_BAD_VERSION 0xC0010004u
#define RNDIS_STATUS_INVALID_LENGTH 0xC0010014u
#define RNDIS_STATUS_INVALID_DATA 0xC0010015u
#define RNDIS_STATUS_BUFFER_TOO_SHORT 0xC0010016u
#define RNDIS_STATUS_INVALID_OID 0xC0010017u

/* INIT_CMPLT device_flags and medium. */
#define RNDIS_DF_CONNECTIONLESS 0x00000001u
#define RNDIS_MEDIUM_802_3 0x00000000u

/* max_xfer the guest offers in INIT (what Linux, DPDK and FreeBSD send). */
#define RNDIS_GUEST_MAX_XFER 0x4000u

/* Every RNDIS message starts with this. */
struct rndis_msg_hdr {
	uint32_t type; /* RNDIS_MSG_* */
	uint32_t len; /* the whole message, this header included */
} NETVSC_PACKED;

/*
 * A data packet.  Every *_offset counts from data_offset's own position
 * (byte 8), not from the message start: the smallest legal offset is
 * therefore RNDIS_PACKET_MIN_OFFSET, just past this header.
 */
struct rndis_packet {
	uint32_t type; /* RNDIS_MSG_PACKET */
	uint32_t len;
	uint32_t data_offset;
	uint32_t data_len;
	uint32_t oob_offset;
	uint32_t oob_len;
	uint32_t oob_count;
	uint32_t ppi_offset; /* per-packet info, 4-byte aligned */
	uint32_t ppi_len;
	uint32_t vc_handle; /* 0: connectionless */
	uint32_t reserved;
} NETVSC_PACKED;

/* Offsets in rndis_packet (and the query/set info buffers) start here. */
#define RNDIS_PACKET_OFFSET_BASE 8u
#define RNDIS_PACKET_MIN_OFFSET (sizeof(struct rndis_packet) - RNDIS_PACKET_OFFSET_BASE)
#define RNDIS_PPI_ALIGN 4u

struct rndis_init_req {
	uint32_t type; /* RNDIS_MSG_INIT */
	uint32_t len;
	uint32_t rid; /* request id: non-zero, echoed in the completion */
	uint32_t ver_major;
	uint32_t ver_minor;
	uint32_t max_xfer;
} NETVSC_PACKED;

struct rndis_init_cmplt {
	uint32_t type; /* RNDIS_MSG_INIT_CMPLT */
	uint32_t len;
	uint32_t rid;
	uint32_t status;
	uint32_t ver_major;
	uint32_t ver_minor;
	uint32_t dev_flags; /* RNDIS_DF_* */
	uint32_t medium; /* RNDIS_MEDIUM_* */
	uint32_t max_pkts; /* RNDIS_PACKETs the host takes in one message */
	uint32_t max_xfer; /* bytes it takes in one message */
	uint32_t align_factor; /* aggregated packets aligned to 1 << this */
	uint32_t af_list_offset; /* connection-oriented devices only */
	uint32_t af_list_size;
} NETVSC_PACKED;

struct rndis_halt_req {
	uint32_t type; /* RNDIS_MSG_HALT */
	uint32_t len;
	uint32_t rid;
} NETVSC_PACKED;

/*
 * QUERY and SET requests share a layout.  info_offset counts from the rid
 * field (byte 8): with the buffer right after the header it is
 * sizeof(struct rndis_query_req) - 8 = 20.
 */
struct rndis_query_req {
	uint32_t type; /* RNDIS_MSG_QUERY or RNDIS_MSG_SET */
	uint32_t len;
	uint32_t rid;
	uint32_t oid; /* RNDIS_OID_* */
	uint32_t info_len;
	uint32_t info_offset;
	uint32_t dev_vc_handle;
} NETVSC_PACKED;

struct rndis_set_req {
	uint32_t type; /* RNDIS_MSG_SET */
	uint32_t len;
	uint32_t rid;
	uint32_t oid;
	uint32_t info_len;
	uint32_t info_offset;
	uint32_t dev_vc_handle;
} NETVSC_PACKED;

/* info_offset counts from the rid field too; at least 16 when info_len > 0. */
struct rndis_query_cmplt {
	uint32_t type; /* RNDIS_MSG_QUERY_CMPLT */
	uint32_t len;
	uint32_t rid;
	uint32_t status;
	uint32_t info_len;
	uint32_t info_offset;
} NETVSC_PACKED;

#define RNDIS_INFO_OFFSET_BASE 8u

struct rndis_set_cmplt {
	uint32_t type; /* RNDIS_MSG_SET_CMPLT */
	uint32_t len;
	uint32_t rid;
	uint32_t status;
} NETVSC_PACKED;

struct rndis_reset_req {
	uint32_t type; /* RNDIS_MSG_RESET */
	uint32_t len;
	uint32_t reserved;
} NETVSC_PACKED;

struct rndis_reset_cmplt {
	uint32_t type; /* RNDIS_MSG_RESET_CMPLT */
	uint32_t len;
	uint32_t status;
	uint32_t addressing_reset;
} NETVSC_PACKED;

/* buf_offset counts from the status field (byte 8). */
struct rndis_indicate {
	uint32_t type; /* RNDIS_MSG_INDICATE */
	uint32_t len;
	uint32_t status; /* RNDIS_STATUS_MEDIA_CONNECT etc. */
	uint32_t buf_len;
	uint32_t buf_offset;
} NETVSC_PACKED;

#define RNDIS_INDICATE_OFFSET_BASE 8u

struct rndis_keepalive_req {
	uint32_t type; /* RNDIS_MSG_KEEPALIVE */
	uint32_t len;
	uint32_t rid;
} NETVSC_PACKED;

struct rndis_keepalive_cmplt {
	uint32_t type; /* RNDIS_MSG_KEEPALIVE_CMPLT */
	uint32_t len;
	uint32_t rid;
	uint32_t status;
} NETVSC_PACKED;

/* ------------------------------------------------------------------------ */
/* Per-packet information (PPI)                                              */
/* ------------------------------------------------------------------------ */

/*
 * One PPI element: @size covers the whole element (4-byte multiple), the
 * payload starts at @offset from the element start (normally 12).
 * Bit 31 of @type marks Hyper-V internal types, numbered separately.
 */
struct rndis_ppi {
	uint32_t size;
	uint32_t type;
	uint32_t offset;
} NETVSC_PACKED;

#define RNDIS_PPI_INTERNAL 0x80000000u
#define RNDIS_PPI_TYPE_MASK 0x7FFFFFFFu

/* Public types.  8 and 9 are NDIS types that Hyper-V reuses for hashing. */
#define RNDIS_PPI_CSUM 0u /* u32: NDIS_TXCSUM_* (TX) or NDIS_RXCSUM_* (RX) */
#define RNDIS_PPI_IPSEC 1u
#define RNDIS_PPI_LSO 2u /* u32: NDIS_LSO2_* */
#define RNDIS_PPI_8021Q 6u /* u32: NDIS_VLAN_* */
#define RNDIS_PPI_HASH_VALUE 8u /* u32: RX Toeplitz hash; TX queue/hash */
#define RNDIS_PPI_HASH_INFO 9u /* u32: NDIS_HASH_* type and function */
/* Internal types (with RNDIS_PPI_INTERNAL set). */
#define RNDIS_PPI_PKTINFO_ID 1u /* struct rndis_pktinfo_id, NVSP 6.1 RSC */

/* Payload of RNDIS_PPI_PKTINFO_ID: a frame split over receive sections. */
struct rndis_pktinfo_id {
	uint8_t version; /* RNDIS_PKTINFO_ID_V1 */
	uint8_t flags; /* RNDIS_PKTINFO_* */
	uint16_t pkt_id;
} NETVSC_PACKED;

#define RNDIS_PKTINFO_ID_V1 1u
#define RNDIS_PKTINFO_SUBALLOC 0x01u
#define RNDIS_PKTINFO_FIRST_FRAG 0x02u
#define RNDIS_PKTINFO_LAST_FRAG 0x04u

/* A PPI element whose payload is one u32: what every type above uses. */
#define RNDIS_PPI_U32_SIZE (sizeof(struct rndis_ppi) + sizeof(uint32_t))

/* RNDIS_PPI_CSUM, transmit: what the host must compute. */
#define NDIS_TXCSUM_IPV4 0x00000001u
#define NDIS_TXCSUM_IPV6 0x00000002u
#define NDIS_TXCSUM_TCP 0x00000004u
#define NDIS_TXCSUM_UDP 0x00000008u
#define NDIS_TXCSUM_IP_HDR 0x00000010u
#define NDIS_TXCSUM_L4_OFFSET_SHIFT 16u /* L4 header offset in the frame */
#define NDIS_TXCSUM_L4_OFFSET_MASK 0x03FF0000u

/* RNDIS_PPI_CSUM, receive: what the host checked. */
#define NDIS_RXCSUM_TCP_FAILED 0x0001u
#define NDIS_RXCSUM_UDP_FAILED 0x0002u
#define NDIS_RXCSUM_IP_FAILED 0x0004u
#define NDIS_RXCSUM_TCP_OK 0x0008u
#define NDIS_RXCSUM_UDP_OK 0x0010u
#define NDIS_RXCSUM_IP_OK 0x0020u
#define NDIS_RXCSUM_LOOPBACK 0x0040u
#define NDIS_RXCSUM_TCP_INVALID 0x0080u
#define NDIS_RXCSUM_IP_INVALID 0x0100u

/* RNDIS_PPI_LSO (LSOv2, transmit). */
#define NDIS_LSO2_MSS_MASK 0x000FFFFFu
#define NDIS_LSO2_L4_OFFSET_SHIFT 20u
#define NDIS_LSO2_L4_OFFSET_MASK 0x3FF00000u
#define NDIS_LSO2_V2 0x40000000u /* always set: this is LSOv2 */
#define NDIS_LSO2_IPV6 0x80000000u

/* RNDIS_PPI_8021Q: not the 802.1Q TCI order. */
#define NDIS_VLAN_PRI_MASK 0x0007u
#define NDIS_VLAN_CFI 0x0008u
#define NDIS_VLAN_ID_SHIFT 4u
#define NDIS_VLAN_ID_MASK 0xFFF0u

/* ======================================================================== */
/* OIDs                                                                      */
/* ======================================================================== */

/* General. */
#define RNDIS_OID_GEN_SUPPORTED_LIST 0x00010101u
#define RNDIS_OID_GEN_HARDWARE_STATUS 0x00010102u
#define RNDIS_OID_GEN_MEDIA_SUPPORTED 0x00010103u
#define RNDIS_OID_GEN_MEDIA_IN_USE 0x00010104u
#define RNDIS_OID_GEN_MAXIMUM_LOOKAHEAD 0x00010105u
#define RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE 0x00010106u /* u32: L3 MTU */
#define RNDIS_OID_GEN_LINK_SPEED 0x00010107u /* u32: units of 100 bit/s */
#define RNDIS_OID_GEN_TRANSMIT_BUFFER_SPACE 0x00010108u
#define RNDIS_OID_GEN_RECEIVE_BUFFER_SPACE 0x00010109u
#define RNDIS_OID_GEN_TRANSMIT_BLOCK_SIZE 0x0001010Au
#define RNDIS_OID_GEN_RECEIVE_BLOCK_SIZE 0x0001010Bu
#define RNDIS_OID_GEN_VENDOR_ID 0x0001010Cu
#define RNDIS_OID_GEN_VENDOR_DESCRIPTION 0x0001010Du
#define RNDIS_OID_GEN_CURRENT_PACKET_FILTER 0x0001010Eu /* u32: NDIS_PACKET_TYPE_* */
#define RNDIS_OID_GEN_CURRENT_LOOKAHEAD 0x0001010Fu
#define RNDIS_OID_GEN_DRIVER_VERSION 0x00010110u
#define RNDIS_OID_GEN_MAXIMUM_TOTAL_SIZE 0x00010111u
#define RNDIS_OID_GEN_PROTOCOL_OPTIONS 0x00010112u
#define RNDIS_OID_GEN_MAC_OPTIONS 0x00010113u /* u32: NDIS_MAC_OPTION_* */
#define RNDIS_OID_GEN_MEDIA_CONNECT_STATUS 0x00010114u /* u32: NDIS_MEDIA_STATE_* */
#define RNDIS_OID_GEN_MAXIMUM_SEND_PACKETS 0x00010115u
#define RNDIS_OID_GEN_VENDOR_DRIVER_VERSION 0x00010116u
#define RNDIS_OID_GEN_NETWORK_LAYER_ADDRESSES 0x00010118u
#define RNDIS_OID_GEN_TRANSPORT_HEADER_OFFSET 0x00010119u
#define RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES 0x00010203u /* struct ndis_rss_caps */
#define RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS 0x00010204u /* struct ndis_rss_params */
#define RNDIS_OID_GEN_MAX_LINK_SPEED 0x00010206u /* struct ndis_link_speed */
#define RNDIS_OID_GEN_LINK_STATE 0x00010207u /* struct ndis_link_state */
#define RNDIS_OID_GEN_LINK_PARAMETERS 0x00010208u
#define RNDIS_OID_GEN_INTERRUPT_MODERATION 0x00010209u
#define RNDIS_OID_GEN_MACHINE_NAME 0x0001021Au
#define RNDIS_OID_GEN_RNDIS_CONFIG_PARAMETER 0x0001021Bu /* struct rndis_config_param */
/* Statistics. */
#define RNDIS_OID_GEN_XMIT_OK 0x00020101u
#define RNDIS_OID_GEN_RCV_OK 0x00020102u
#define RNDIS_OID_GEN_XMIT_ERROR 0x00020103u
#define RNDIS_OID_GEN_RCV_ERROR 0x00020104u
#define RNDIS_OID_GEN_RCV_NO_BUFFER 0x00020105u
#define RNDIS_OID_GEN_FRIENDLY_NAME 0x00020216u /* UTF-16 string */
/* 802.3. */
#define RNDIS_OID_802_3_PERMANENT_ADDRESS 0x01010101u /* 6-byte MAC */
#define RNDIS_OID_802_3_CURRENT_ADDRESS 0x01010102u
#define RNDIS_OID_802_3_MULTICAST_LIST 0x01010103u
#define RNDIS_OID_802_3_MAXIMUM_LIST_SIZE 0x01010104u
#define RNDIS_OID_802_3_MAC_OPTIONS 0x01010105u
#define RNDIS_OID_OFFLOAD_ENCAPSULATION 0x0101010Au /* struct ndis_offload_encap */
#define RNDIS_OID_802_3_RCV_ERROR_ALIGNMENT 0x01020101u
#define RNDIS_OID_802_3_XMIT_ONE_COLLISION 0x01020102u
#define RNDIS_OID_802_3_XMIT_MORE_COLLISIONS 0x01020103u
/* TCP/IP offload. */
#define RNDIS_OID_TCP_OFFLOAD_CURRENT_CONFIG 0xFC01020Bu /* struct ndis_offload */
#define RNDIS_OID_TCP_OFFLOAD_PARAMETERS 0xFC01020Cu /* struct ndis_offload_params */
#define RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES 0xFC01020Du /* struct ndis_offload */

/* OID_GEN_CURRENT_PACKET_FILTER. */
#define NDIS_PACKET_TYPE_NONE 0x00000000u
#define NDIS_PACKET_TYPE_DIRECTED 0x00000001u
#define NDIS_PACKET_TYPE_MULTICAST 0x00000002u
#define NDIS_PACKET_TYPE_ALL_MULTICAST 0x00000004u
#define NDIS_PACKET_TYPE_BROADCAST 0x00000008u
#define NDIS_PACKET_TYPE_PROMISCUOUS 0x00000020u

/* OID_GEN_MEDIA_CONNECT_STATUS (also ndis_link_state.media_connect_state). */
#define NDIS_MEDIA_STATE_CONNECTED 0u
#define NDIS_MEDIA_STATE_DISCONNECTED 1u

/* OID_GEN_MAC_OPTIONS. */
#define NDIS_MAC_OPTION_COPY_LOOKAHEAD_DATA 0x00000001u
#define NDIS_MAC_OPTION_TRANSFERS_NOT_PEND 0x00000004u
#define NDIS_MAC_OPTION_NO_LOOPBACK 0x00000008u
#define NDIS_MAC_OPTION_8021P_PRIORITY 0x00000040u
#define NDIS_MAC_OPTION_8021Q_VLAN 0x00000200u

/*
 * OID_GEN_RNDIS_CONFIG_PARAMETER info buffer: a named parameter, name and
 * value as UTF-16 at offsets from the start of this structure.
 */
struct rndis_config_param {
	uint32_t name_offset;
	uint32_t name_len;
	uint32_t param_type; /* RNDIS_CONFIG_PARAM_* */
	uint32_t value_offset;
	uint32_t value_len;
} NETVSC_PACKED;

#define RNDIS_CONFIG_PARAM_INTEGER 0u
#define RNDIS_CONFIG_PARAM_STRING 2u

/* ======================================================================== */
/* NDIS objects                                                              */
/* ======================================================================== */

struct ndis_object_hdr {
	uint8_t type; /* NDIS_OBJTYPE_* */
	uint8_t revision;
	uint16_t size; /* the whole object, this header included */
} NETVSC_PACKED;

#define NDIS_OBJTYPE_DEFAULT 0x80u
#define NDIS_OBJTYPE_RSS_CAPS 0x88u
#define NDIS_OBJTYPE_RSS_PARAMS 0x89u
#define NDIS_OBJTYPE_OFFLOAD 0xA7u
#define NDIS_OBJTYPE_OFFLOAD_ENCAP 0xA8u

/* NDIS versions (major << 16 | minor): 6.30 above NVSP 4, else 6.1. */
#define NDIS_VERSION_6_1 0x00060001u
#define NDIS_VERSION_6_30 0x0006001Eu

/* --- offload capabilities (OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES) --- */

/* Encapsulation values in the *_encap fields. */
#define NDIS_OFFLOAD_ENCAP_NONE 0x0000u
#define NDIS_OFFLOAD_ENCAP_NULL 0x0001u
#define NDIS_OFFLOAD_ENCAP_8023 0x0002u

struct ndis_csum_offload {
	uint32_t ip4_txenc; /* NDIS_OFFLOAD_ENCAP_* */
	uint32_t ip4_txcsum; /* NDIS_TXCSUM_CAP_*4 */
	uint32_t ip4_rxenc;
	uint32_t ip4_rxcsum; /* same bits */
	uint32_t ip6_txenc;
	uint32_t ip6_txcsum; /* NDIS_TXCSUM_CAP_*6 */
	uint32_t ip6_rxenc;
	uint32_t ip6_rxcsum;
} NETVSC_PACKED;

/* Checksum capability bits: the low bit of 2-bit "supported" fields. */
#define NDIS_TXCSUM_CAP_IP4OPT 0x001u
#define NDIS_TXCSUM_CAP_TCP4OPT 0x004u
#define NDIS_TXCSUM_CAP_TCP4 0x010u
#define NDIS_TXCSUM_CAP_UDP4 0x040u
#define NDIS_TXCSUM_CAP_IP4 0x100u
#define NDIS_TXCSUM_CAP_IP6EXT 0x001u
#define NDIS_TXCSUM_CAP_TCP6OPT 0x004u
#define NDIS_TXCSUM_CAP_TCP6 0x010u
#define NDIS_TXCSUM_CAP_UDP6 0x040u

struct ndis_lsov1_offload {
	uint32_t encap;
	uint32_t max_size;
	uint32_t min_segs;
	uint32_t opts;
} NETVSC_PACKED;

struct ndis_ipsecv1_offload {
	uint32_t encap;
	uint32_t ah_esp;
	uint32_t xport_tun;
	uint32_t ip4_opts;
	uint32_t flags;
	uint32_t ip4_ah;
	uint32_t ip4_esp;
} NETVSC_PACKED;

struct ndis_lsov2_offload {
	uint32_t ip4_encap;
	uint32_t ip4_max_size;
	uint32_t ip4_min_segs;
	uint32_t ip6_encap;
	uint32_t ip6_max_size;
	uint32_t ip6_min_segs;
	uint32_t ip6_opts; /* NDIS_LSOV2_CAP_* */
} NETVSC_PACKED;

#define NDIS_LSOV2_CAP_IP6EXT 0x001u
#define NDIS_LSOV2_CAP_TCP6OPT 0x004u

struct ndis_ipsecv2_offload {
	uint32_t encap;
	uint8_t ip6;
	uint8_t ip4_opt;
	uint8_t ip6_ext;
	uint8_t ah;
	uint8_t esp;
	uint8_t ah_esp;
	uint8_t xport;
	uint8_t tun;
	uint8_t xport_tun;
	uint8_t lso;
	uint8_t ext_seq;
	uint8_t pad;
	uint32_t udp_esp;
	uint32_t auth;
	uint32_t crypto;
	uint32_t sa_caps;
} NETVSC_PACKED;

struct ndis_rsc_offload {
	uint8_t ip4;
	uint8_t ip6;
	uint8_t pad[2];
} NETVSC_PACKED;

struct ndis_encap_offload {
	uint32_t flags;
	uint32_t max_hdr;
} NETVSC_PACKED;

/*
 * The whole capability object.  Older revisions end early: revision 1
 * (NDIS 6.0) after @flags, revision 2 (6.1) after @ipsecv2, revision 3
 * (6.30) after @encap_gre.
 */
struct ndis_offload {
	struct ndis_object_hdr hdr; /* NDIS_OBJTYPE_OFFLOAD */
	struct ndis_csum_offload csum;
	struct ndis_lsov1_offload lsov1;
	struct ndis_ipsecv1_offload ipsecv1;
	struct ndis_lsov2_offload lsov2;
	uint32_t flags;
	struct ndis_ipsecv2_offload ipsecv2; /* NDIS >= 6.1 */
	struct ndis_rsc_offload rsc; /* NDIS >= 6.30 */
	struct ndis_encap_offload encap_gre;
} NETVSC_PACKED;

#define NDIS_OFFLOAD_REV_1 1u
#define NDIS_OFFLOAD_REV_2 2u
#define NDIS_OFFLOAD_REV_3 3u
#define NDIS_OFFLOAD_SIZE_REV_1 offsetof(struct ndis_offload, ipsecv2)
#define NDIS_OFFLOAD_SIZE_REV_2 offsetof(struct ndis_offload, rsc)
#define NDIS_OFFLOAD_SIZE_REV_3 sizeof(struct ndis_offload)

/* --- offload parameters (OID_TCP_OFFLOAD_PARAMETERS, set) --- */

struct ndis_offload_params {
	struct ndis_object_hdr hdr; /* NDIS_OBJTYPE_DEFAULT */
	uint8_t ip4_csum; /* NDIS_OFFLOAD_PARAM_* */
	uint8_t tcp4_csum;
	uint8_t udp4_csum;
	uint8_t tcp6_csum;
	uint8_t udp6_csum;
	uint8_t lsov1; /* NDIS_OFFLOAD_LSO_* */
	uint8_t ipsecv1;
	uint8_t lsov2_ip4; /* NDIS_OFFLOAD_LSO_* */
	uint8_t lsov2_ip6;
	uint8_t tcp4_conn; /* 0 */
	uint8_t tcp6_conn; /* 0 */
	uint8_t pad0;
	uint32_t flags; /* 0 */
	uint8_t ipsecv2; /* NDIS >= 6.1 */
	uint8_t ipsecv2_ip4;
	uint8_t rsc_ip4; /* NDIS >= 6.30: NDIS_OFFLOAD_RSC_* */
	uint8_t rsc_ip6;
	uint8_t encap;
	uint8_t encap_types;
	uint8_t pad1[2];
} NETVSC_PACKED;

#define NDIS_OFFLOAD_PARAMS_REV_2 2u /* NDIS 6.1: ends before rsc_ip4 */
#define NDIS_OFFLOAD_PARAMS_REV_3 3u /* NDIS 6.30 */
#define NDIS_OFFLOAD_PARAMS_SIZE_REV_2 offsetof(struct ndis_offload_params, rsc_ip4)
#define NDIS_OFFLOAD_PARAMS_SIZE_REV_3 sizeof(struct ndis_offload_params)

/* Checksum fields: */
#define NDIS_OFFLOAD_PARAM_NOCHG 0u
#define NDIS_OFFLOAD_PARAM_OFF 1u
#define NDIS_OFFLOAD_PARAM_TX 2u
#define NDIS_OFFLOAD_PARAM_RX 3u
#define NDIS_OFFLOAD_PARAM_TXRX 4u /* not TX | RX: that would be RX */
/* LSO and RSC fields (0 is "no change" too): */
#define NDIS_OFFLOAD_LSO_OFF 1u
#define NDIS_OFFLOAD_LSO_ON 2u
#define NDIS_OFFLOAD_RSC_OFF 1u
#define NDIS_OFFLOAD_RSC_ON 2u

/* --- OID_OFFLOAD_ENCAPSULATION --- */

struct ndis_offload_encap {
	struct ndis_object_hdr hdr; /* NDIS_OBJTYPE_OFFLOAD_ENCAP, rev 1 */
	uint32_t ip4_enabled;
	uint32_t ip4_encap_type; /* NDIS_OFFLOAD_ENCAP_8023 */
	uint32_t ip4_hdr_size; /* 14 */
	uint32_t ip6_enabled;
	uint32_t ip6_encap_type;
	uint32_t ip6_hdr_size;
} NETVSC_PACKED;

/* --- RSS capabilities (OID_GEN_RECEIVE_SCALE_CAPABILITIES, query) --- */

struct ndis_rss_caps {
	struct ndis_object_hdr hdr; /* NDIS_OBJTYPE_RSS_CAPS */
	uint32_t caps; /* NDIS_RSS_CAP_* | NDIS_HASH_FUNCTION_* */
	uint32_t num_msi;
	uint32_t num_rx_queues;
	uint16_t num_indirection; /* revision 2 only; a power of 2 (128 or 256 on hosts seen) */
	uint16_t pad;
} NETVSC_PACKED;

#define NDIS_RSS_CAPS_REV_1 1u /* NDIS 6.0 .. 6.20 */
#define NDIS_RSS_CAPS_REV_2 2u /* NDIS 6.30 */
#define NDIS_RSS_CAPS_SIZE_REV_1 offsetof(struct ndis_rss_caps, num_indirection)
#define NDIS_RSS_CAPS_SIZE_REV_2 offsetof(struct ndis_rss_caps, pad)

#define NDIS_RSS_CAP_MSI 0x01000000u
#define NDIS_RSS_CAP_CLASSIFY_ISR 0x02000000u
#define NDIS_RSS_CAP_CLASSIFY_DPC 0x04000000u
#define NDIS_RSS_CAP_MSIX 0x08000000u
#define NDIS_RSS_CAP_IPV4 0x00000100u
#define NDIS_RSS_CAP_IPV6 0x00000200u
#define NDIS_RSS_CAP_IPV6_EX 0x00000400u

/* Hash function (low byte) and hash types, in caps, params and PPIs. */
#define NDIS_HASH_FUNCTION_MASK 0x000000FFu
#define NDIS_HASH_FUNCTION_TOEPLITZ 0x00000001u
#define NDIS_HASH_TYPE_MASK 0x00FFFF00u
#define NDIS_HASH_IPV4 0x00000100u
#define NDIS_HASH_TCP_IPV4 0x00000200u
#define NDIS_HASH_IPV6 0x00000400u
#define NDIS_HASH_IPV6_EX 0x00000800u
#define NDIS_HASH_TCP_IPV6 0x00001000u
#define NDIS_HASH_TCP_IPV6_EX 0x00002000u
#define NDIS_HASH_UDP_IPV4 0x00004000u

/* --- RSS parameters (OID_GEN_RECEIVE_SCALE_PARAMETERS, set) --- */

struct ndis_rss_params {
	struct ndis_object_hdr hdr; /* NDIS_OBJTYPE_RSS_PARAMS, rev 2 */
	uint16_t flags; /* NDIS_RSS_FLAG_* */
	uint16_t base_cpu; /* 0 */
	uint32_t hash_info; /* NDIS_HASH_FUNCTION_* | NDIS_HASH_* */
	uint16_t itab_size; /* bytes of the indirection table */
	uint16_t pad0;
	uint32_t itab_offset; /* from the object start */
	uint16_t key_size; /* bytes of the key */
	uint16_t pad1;
	uint32_t key_offset; /* from the object start */
	uint32_t cpumask_offset; /* NDIS >= 6.20, 0 */
	uint32_t cpumask_count;
	uint32_t cpumask_entry_size;
} NETVSC_PACKED;

#define NDIS_RSS_PARAMS_REV_1 1u /* NDIS 6.0: ends before cpumask_offset */
#define NDIS_RSS_PARAMS_REV_2 2u /* NDIS 6.20 */
#define NDIS_RSS_PARAMS_SIZE_REV_1 offsetof(struct ndis_rss_params, cpumask_offset)
#define NDIS_RSS_PARAMS_SIZE_REV_2 sizeof(struct ndis_rss_params)

#define NDIS_RSS_FLAG_NONE 0x0000u
#define NDIS_RSS_FLAG_BASE_CPU_UNCHANGED 0x0001u
#define NDIS_RSS_FLAG_HASH_UNCHANGED 0x0002u
#define NDIS_RSS_FLAG_ITAB_UNCHANGED 0x0004u
#define NDIS_RSS_FLAG_KEY_UNCHANGED 0x0008u
#define NDIS_RSS_FLAG_DISABLE 0x0010u

/*
 * Indirection table entries: a host that does not say (or says something
 * unusable) gets 128, Linux hv_netvsc's ITAB_NUM; the most a guest takes
 * from a host's capability is 256, Linux's ITAB_NUM_MAX.
 */
#define NDIS_RSS_ITAB_ENTRIES 128u
#define NDIS_RSS_ITAB_MAX 256u
#define NDIS_RSS_KEY_SIZE 40u /* Toeplitz */

/*
 * The classic Microsoft Toeplitz key of the RSS specification: the key
 * Linux hv_netvsc programs (netvsc_hash_key), so flows hash as on a Linux
 * guest of the same host, and the one a host hashes with until the guest
 * sets its own.  An initializer for uint8_t[NDIS_RSS_KEY_SIZE].
 */
#define NDIS_RSS_KEY_DEFAULT                                                                       \
	{                                                                                          \
		0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43,      \
		0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb,      \
		0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01,      \
		0xfa,                                                                              \
	}

/*
 * What a guest sends: the parameters, then its indirection table of @n
 * channel indices (u32 each), then the Toeplitz key; 592 bytes for 128
 * entries, 1104 for 256.
 */
#define NDIS_RSS_PARAMS_TOEPLITZ_SIZE(n)                                                           \
	(sizeof(struct ndis_rss_params) + 4u * (n) + NDIS_RSS_KEY_SIZE)

/* --- link state (OID_GEN_LINK_STATE) and speed (OID_GEN_MAX_LINK_SPEED) --- */

struct ndis_link_state {
	struct ndis_object_hdr hdr; /* NDIS_OBJTYPE_DEFAULT, rev 1 */
	uint32_t media_connect_state; /* NDIS_MEDIA_STATE_* */
	uint32_t media_duplex_state; /* NDIS_MEDIA_DUPLEX_* */
	uint32_t pad;
	uint64_t xmit_speed; /* bit/s */
	uint64_t rcv_speed;
	uint32_t pause_functions;
	uint32_t autoneg_flags;
} NETVSC_PACKED;

#define NDIS_LINK_STATE_REV_1 1u
#define NDIS_MEDIA_DUPLEX_UNKNOWN 0u
#define NDIS_MEDIA_DUPLEX_HALF 1u
#define NDIS_MEDIA_DUPLEX_FULL 2u

struct ndis_link_speed {
	uint64_t xmit; /* bit/s */
	uint64_t rcv;
} NETVSC_PACKED;

/* ======================================================================== */
/* Layout checks                                                             */
/* ======================================================================== */

#define NETVSC_CHECK_SIZE(s, n) _Static_assert(sizeof(struct s) == (n), "size of " #s)
#define NETVSC_CHECK_OFF(s, f, o) _Static_assert(offsetof(struct s, f) == (o), #s "." #f)

/* NVSP */
NETVSC_CHECK_SIZE(nvsp_msg_hdr, 4);
NETVSC_CHECK_OFF(nvsp_msg_hdr, type, 0);

NETVSC_CHECK_SIZE(nvsp_init, 12);
NETVSC_CHECK_OFF(nvsp_init, type, 0);
NETVSC_CHECK_OFF(nvsp_init, ver_min, 4);
NETVSC_CHECK_OFF(nvsp_init, ver_max, 8);

NETVSC_CHECK_SIZE(nvsp_init_comp, 16);
NETVSC_CHECK_OFF(nvsp_init_comp, type, 0);
NETVSC_CHECK_OFF(nvsp_init_comp, negotiated_ver, 4);
NETVSC_CHECK_OFF(nvsp_init_comp, max_mdl_chain_len, 8);
NETVSC_CHECK_OFF(nvsp_init_comp, status, 12);

NETVSC_CHECK_SIZE(nvsp_ndis_ver, 12);
NETVSC_CHECK_OFF(nvsp_ndis_ver, type, 0);
NETVSC_CHECK_OFF(nvsp_ndis_ver, ndis_major, 4);
NETVSC_CHECK_OFF(nvsp_ndis_ver, ndis_minor, 8);

NETVSC_CHECK_SIZE(nvsp_ndis_config, 20);
NETVSC_CHECK_OFF(nvsp_ndis_config, type, 0);
NETVSC_CHECK_OFF(nvsp_ndis_config, mtu, 4);
NETVSC_CHECK_OFF(nvsp_ndis_config, reserved, 8);
NETVSC_CHECK_OFF(nvsp_ndis_config, caps, 12);

NETVSC_CHECK_SIZE(nvsp_rxbuf_conn, 12);
NETVSC_CHECK_OFF(nvsp_rxbuf_conn, type, 0);
NETVSC_CHECK_OFF(nvsp_rxbuf_conn, gpadl, 4);
NETVSC_CHECK_OFF(nvsp_rxbuf_conn, id, 8);
NETVSC_CHECK_OFF(nvsp_rxbuf_conn, reserved, 10);

NETVSC_CHECK_SIZE(nvsp_rxbuf_section, 16);
NETVSC_CHECK_OFF(nvsp_rxbuf_section, offset, 0);
NETVSC_CHECK_OFF(nvsp_rxbuf_section, sub_alloc_size, 4);
NETVSC_CHECK_OFF(nvsp_rxbuf_section, num_sub_allocs, 8);
NETVSC_CHECK_OFF(nvsp_rxbuf_section, end_offset, 12);

NETVSC_CHECK_SIZE(nvsp_rxbuf_conn_comp, 28);
NETVSC_CHECK_OFF(nvsp_rxbuf_conn_comp, type, 0);
NETVSC_CHECK_OFF(nvsp_rxbuf_conn_comp, status, 4);
NETVSC_CHECK_OFF(nvsp_rxbuf_conn_comp, num_sections, 8);
NETVSC_CHECK_OFF(nvsp_rxbuf_conn_comp, sections, 12);

NETVSC_CHECK_SIZE(nvsp_rxbuf_revoke, 8);
NETVSC_CHECK_OFF(nvsp_rxbuf_revoke, type, 0);
NETVSC_CHECK_OFF(nvsp_rxbuf_revoke, id, 4);
NETVSC_CHECK_OFF(nvsp_rxbuf_revoke, reserved, 6);

NETVSC_CHECK_SIZE(nvsp_chim_conn, 12);
NETVSC_CHECK_OFF(nvsp_chim_conn, type, 0);
NETVSC_CHECK_OFF(nvsp_chim_conn, gpadl, 4);
NETVSC_CHECK_OFF(nvsp_chim_conn, id, 8);
NETVSC_CHECK_OFF(nvsp_chim_conn, reserved, 10);

NETVSC_CHECK_SIZE(nvsp_chim_conn_comp, 12);
NETVSC_CHECK_OFF(nvsp_chim_conn_comp, type, 0);
NETVSC_CHECK_OFF(nvsp_chim_conn_comp, status, 4);
NETVSC_CHECK_OFF(nvsp_chim_conn_comp, section_size, 8);

NETVSC_CHECK_SIZE(nvsp_chim_revoke, 8);
NETVSC_CHECK_OFF(nvsp_chim_revoke, type, 0);
NETVSC_CHECK_OFF(nvsp_chim_revoke, id, 4);
NETVSC_CHECK_OFF(nvsp_chim_revoke, reserved, 6);

NETVSC_CHECK_SIZE(nvsp_rndis_pkt, 16);
NETVSC_CHECK_OFF(nvsp_rndis_pkt, type, 0);
NETVSC_CHECK_OFF(nvsp_rndis_pkt, channel_type, 4);
NETVSC_CHECK_OFF(nvsp_rndis_pkt, section_index, 8);
NETVSC_CHECK_OFF(nvsp_rndis_pkt, section_size, 12);

NETVSC_CHECK_SIZE(nvsp_rndis_pkt_comp, 8);
NETVSC_CHECK_OFF(nvsp_rndis_pkt_comp, type, 0);
NETVSC_CHECK_OFF(nvsp_rndis_pkt_comp, status, 4);

NETVSC_CHECK_SIZE(nvsp_vf_assoc, 12);
NETVSC_CHECK_OFF(nvsp_vf_assoc, type, 0);
NETVSC_CHECK_OFF(nvsp_vf_assoc, allocated, 4);
NETVSC_CHECK_OFF(nvsp_vf_assoc, serial, 8);

NETVSC_CHECK_SIZE(nvsp_switch_data_path, 8);
NETVSC_CHECK_OFF(nvsp_switch_data_path, type, 0);
NETVSC_CHECK_OFF(nvsp_switch_data_path, active_datapath, 4);

NETVSC_CHECK_SIZE(nvsp_subch_req, 12);
NETVSC_CHECK_OFF(nvsp_subch_req, type, 0);
NETVSC_CHECK_OFF(nvsp_subch_req, op, 4);
NETVSC_CHECK_OFF(nvsp_subch_req, num_subchannels, 8);

NETVSC_CHECK_SIZE(nvsp_subch_comp, 12);
NETVSC_CHECK_OFF(nvsp_subch_comp, type, 0);
NETVSC_CHECK_OFF(nvsp_subch_comp, status, 4);
NETVSC_CHECK_OFF(nvsp_subch_comp, num_subchannels, 8);

NETVSC_CHECK_SIZE(nvsp_send_table, 12);
NETVSC_CHECK_OFF(nvsp_send_table, type, 0);
NETVSC_CHECK_OFF(nvsp_send_table, count, 4);
NETVSC_CHECK_OFF(nvsp_send_table, offset, 8);

_Static_assert(sizeof(union nvsp_msg) == NVSP_MSG_SIZE, "size of nvsp_msg");
_Static_assert(NVSP_SEND_TABLE_FIXED_OFFSET + NVSP_SEND_TABLE_SIZE * 4 == 104, "fixed send table end");

/* RNDIS */
NETVSC_CHECK_SIZE(rndis_msg_hdr, 8);
NETVSC_CHECK_OFF(rndis_msg_hdr, type, 0);
NETVSC_CHECK_OFF(rndis_msg_hdr, len, 4);

NETVSC_CHECK_SIZE(rndis_packet, 44);
NETVSC_CHECK_OFF(rndis_packet, type, 0);
NETVSC_CHECK_OFF(rndis_packet, len, 4);
NETVSC_CHECK_OFF(rndis_packet, data_offset, 8);
NETVSC_CHECK_OFF(rndis_packet, data_len, 12);
NETVSC_CHECK_OFF(rndis_packet, oob_offset, 16);
NETVSC_CHECK_OFF(rndis_packet, oob_len, 20);
NETVSC_CHECK_OFF(rndis_packet, oob_count, 24);
NETVSC_CHECK_OFF(rndis_packet, ppi_offset, 28);
NETVSC_CHECK_OFF(rndis_packet, ppi_len, 32);
NETVSC_CHECK_OFF(rndis_packet, vc_handle, 36);
NETVSC_CHECK_OFF(rndis_packet, reserved, 40);
_Static_assert(RNDIS_PACKET_MIN_OFFSET == 36, "RNDIS packet minimum offset");

NETVSC_CHECK_SIZE(rndis_init_req, 24);
NETVSC_CHECK_OFF(rndis_init_req, type, 0);
NETVSC_CHECK_OFF(rndis_init_req, len, 4);
NETVSC_CHECK_OFF(rndis_init_req, rid, 8);
NETVSC_CHECK_OFF(rndis_init_req, ver_major, 12);
NETVSC_CHECK_OFF(rndis_init_req, ver_minor, 16);
NETVSC_CHECK_OFF(rndis_init_req, max_xfer, 20);

NETVSC_CHECK_SIZE(rndis_init_cmplt, 52);
NETVSC_CHECK_OFF(rndis_init_cmplt, type, 0);
NETVSC_CHECK_OFF(rndis_init_cmplt, len, 4);
NETVSC_CHECK_OFF(rndis_init_cmplt, rid, 8);
NETVSC_CHECK_OFF(rndis_init_cmplt, status, 12);
NETVSC_CHECK_OFF(rndis_init_cmplt, ver_major, 16);
NETVSC_CHECK_OFF(rndis_init_cmplt, ver_minor, 20);
NETVSC_CHECK_OFF(rndis_init_cmplt, dev_flags, 24);
NETVSC_CHECK_OFF(rndis_init_cmplt, medium, 28);
NETVSC_CHECK_OFF(rndis_init_cmplt, max_pkts, 32);
NETVSC_CHECK_OFF(rndis_init_cmplt, max_xfer, 36);
NETVSC_CHECK_OFF(rndis_init_cmplt, align_factor, 40);
NETVSC_CHECK_OFF(rndis_init_cmplt, af_list_offset, 44);
NETVSC_CHECK_OFF(rndis_init_cmplt, af_list_size, 48);

NETVSC_CHECK_SIZE(rndis_halt_req, 12);
NETVSC_CHECK_OFF(rndis_halt_req, type, 0);
NETVSC_CHECK_OFF(rndis_halt_req, len, 4);
NETVSC_CHECK_OFF(rndis_halt_req, rid, 8);

NETVSC_CHECK_SIZE(rndis_query_req, 28);
NETVSC_CHECK_OFF(rndis_query_req, type, 0);
NETVSC_CHECK_OFF(rndis_query_req, len, 4);
NETVSC_CHECK_OFF(rndis_query_req, rid, 8);
NETVSC_CHECK_OFF(rndis_query_req, oid, 12);
NETVSC_CHECK_OFF(rndis_query_req, info_len, 16);
NETVSC_CHECK_OFF(rndis_query_req, info_offset, 20);
NETVSC_CHECK_OFF(rndis_query_req, dev_vc_handle, 24);

NETVSC_CHECK_SIZE(rndis_set_req, 28);
NETVSC_CHECK_OFF(rndis_set_req, type, 0);
NETVSC_CHECK_OFF(rndis_set_req, len, 4);
NETVSC_CHECK_OFF(rndis_set_req, rid, 8);
NETVSC_CHECK_OFF(rndis_set_req, oid, 12);
NETVSC_CHECK_OFF(rndis_set_req, info_len, 16);
NETVSC_CHECK_OFF(rndis_set_req, info_offset, 20);
NETVSC_CHECK_OFF(rndis_set_req, dev_vc_handle, 24);

NETVSC_CHECK_SIZE(rndis_query_cmplt, 24);
NETVSC_CHECK_OFF(rndis_query_cmplt, type, 0);
NETVSC_CHECK_OFF(rndis_query_cmplt, len, 4);
NETVSC_CHECK_OFF(rndis_query_cmplt, rid, 8);
NETVSC_CHECK_OFF(rndis_query_cmplt, status, 12);
NETVSC_CHECK_OFF(rndis_query_cmplt, info_len, 16);
NETVSC_CHECK_OFF(rndis_query_cmplt, info_offset, 20);

NETVSC_CHECK_SIZE(rndis_set_cmplt, 16);
NETVSC_CHECK_OFF(rndis_set_cmplt, type, 0);
NETVSC_CHECK_OFF(rndis_set_cmplt, len, 4);
NETVSC_CHECK_OFF(rndis_set_cmplt, rid, 8);
NETVSC_CHECK_OFF(rndis_set_cmplt, status, 12);

NETVSC_CHECK_SIZE(rndis_reset_req, 12);
NETVSC_CHECK_OFF(rndis_reset_req, type, 0);
NETVSC_CHECK_OFF(rndis_reset_req, len, 4);
NETVSC_CHECK_OFF(rndis_reset_req, reserved, 8);

NETVSC_CHECK_SIZE(rndis_reset_cmplt, 16);
NETVSC_CHECK_OFF(rndis_reset_cmplt, type, 0);
NETVSC_CHECK_OFF(rndis_reset_cmplt, len, 4);
NETVSC_CHECK_OFF(rndis_reset_cmplt, status, 8);
NETVSC_CHECK_OFF(rndis_reset_cmplt, addressing_reset, 12);

NETVSC_CHECK_SIZE(rndis_indicate, 20);
NETVSC_CHECK_OFF(rndis_indicate, type, 0);
NETVSC_CHECK_OFF(rndis_indicate, len, 4);
NETVSC_CHECK_OFF(rndis_indicate, status, 8);
NETVSC_CHECK_OFF(rndis_indicate, buf_len, 12);
NETVSC_CHECK_OFF(rndis_indicate, buf_offset, 16);

NETVSC_CHECK_SIZE(rndis_keepalive_req, 12);
NETVSC_CHECK_OFF(rndis_keepalive_req, type, 0);
NETVSC_CHECK_OFF(rndis_keepalive_req, len, 4);
NETVSC_CHECK_OFF(rndis_keepalive_req, rid, 8);

NETVSC_CHECK_SIZE(rndis_keepalive_cmplt, 16);
NETVSC_CHECK_OFF(rndis_keepalive_cmplt, type, 0);
NETVSC_CHECK_OFF(rndis_keepalive_cmplt, len, 4);
NETVSC_CHECK_OFF(rndis_keepalive_cmplt, rid, 8);
NETVSC_CHECK_OFF(rndis_keepalive_cmplt, status, 12);

NETVSC_CHECK_SIZE(rndis_ppi, 12);
NETVSC_CHECK_OFF(rndis_ppi, size, 0);
NETVSC_CHECK_OFF(rndis_ppi, type, 4);
NETVSC_CHECK_OFF(rndis_ppi, offset, 8);
_Static_assert(RNDIS_PPI_U32_SIZE == 16, "u32 PPI element size");

NETVSC_CHECK_SIZE(rndis_pktinfo_id, 4);
NETVSC_CHECK_OFF(rndis_pktinfo_id, version, 0);
NETVSC_CHECK_OFF(rndis_pktinfo_id, flags, 1);
NETVSC_CHECK_OFF(rndis_pktinfo_id, pkt_id, 2);

NETVSC_CHECK_SIZE(rndis_config_param, 20);
NETVSC_CHECK_OFF(rndis_config_param, name_offset, 0);
NETVSC_CHECK_OFF(rndis_config_param, name_len, 4);
NETVSC_CHECK_OFF(rndis_config_param, param_type, 8);
NETVSC_CHECK_OFF(rndis_config_param, value_offset, 12);
NETVSC_CHECK_OFF(rndis_config_param, value_len, 16);

/* NDIS */
NETVSC_CHECK_SIZE(ndis_object_hdr, 4);
NETVSC_CHECK_OFF(ndis_object_hdr, type, 0);
NETVSC_CHECK_OFF(ndis_object_hdr, revision, 1);
NETVSC_CHECK_OFF(ndis_object_hdr, size, 2);

NETVSC_CHECK_SIZE(ndis_csum_offload, 32);
NETVSC_CHECK_OFF(ndis_csum_offload, ip4_txenc, 0);
NETVSC_CHECK_OFF(ndis_csum_offload, ip4_txcsum, 4);
NETVSC_CHECK_OFF(ndis_csum_offload, ip4_rxenc, 8);
NETVSC_CHECK_OFF(ndis_csum_offload, ip4_rxcsum, 12);
NETVSC_CHECK_OFF(ndis_csum_offload, ip6_txenc, 16);
NETVSC_CHECK_OFF(ndis_csum_offload, ip6_txcsum, 20);
NETVSC_CHECK_OFF(ndis_csum_offload, ip6_rxenc, 24);
NETVSC_CHECK_OFF(ndis_csum_offload, ip6_rxcsum, 28);

NETVSC_CHECK_SIZE(ndis_lsov1_offload, 16);
NETVSC_CHECK_OFF(ndis_lsov1_offload, encap, 0);
NETVSC_CHECK_OFF(ndis_lsov1_offload, max_size, 4);
NETVSC_CHECK_OFF(ndis_lsov1_offload, min_segs, 8);
NETVSC_CHECK_OFF(ndis_lsov1_offload, opts, 12);

NETVSC_CHECK_SIZE(ndis_ipsecv1_offload, 28);
NETVSC_CHECK_OFF(ndis_ipsecv1_offload, encap, 0);
NETVSC_CHECK_OFF(ndis_ipsecv1_offload, ah_esp, 4);
NETVSC_CHECK_OFF(ndis_ipsecv1_offload, xport_tun, 8);
NETVSC_CHECK_OFF(ndis_ipsecv1_offload, ip4_opts, 12);
NETVSC_CHECK_OFF(ndis_ipsecv1_offload, flags, 16);
NETVSC_CHECK_OFF(ndis_ipsecv1_offload, ip4_ah, 20);
NETVSC_CHECK_OFF(ndis_ipsecv1_offload, ip4_esp, 24);

NETVSC_CHECK_SIZE(ndis_lsov2_offload, 28);
NETVSC_CHECK_OFF(ndis_lsov2_offload, ip4_encap, 0);
NETVSC_CHECK_OFF(ndis_lsov2_offload, ip4_max_size, 4);
NETVSC_CHECK_OFF(ndis_lsov2_offload, ip4_min_segs, 8);
NETVSC_CHECK_OFF(ndis_lsov2_offload, ip6_encap, 12);
NETVSC_CHECK_OFF(ndis_lsov2_offload, ip6_max_size, 16);
NETVSC_CHECK_OFF(ndis_lsov2_offload, ip6_min_segs, 20);
NETVSC_CHECK_OFF(ndis_lsov2_offload, ip6_opts, 24);

NETVSC_CHECK_SIZE(ndis_ipsecv2_offload, 32);
NETVSC_CHECK_OFF(ndis_ipsecv2_offload, encap, 0);
NETVSC_CHECK_OFF(ndis_ipsecv2_offload, ip6, 4);
NETVSC_CHECK_OFF(ndis_ipsecv2_offload, ip4_opt, 5);
NETVSC_CHECK_OFF(ndis_ipsecv2_offload, ip6_ext, 6);
NETVSC_CHECK_OFF(ndis_ipsecv2_offload, ah, 7);
NETVSC_CHECK_OFF(ndis_ipsecv2_offload, esp, 8);
NETVSC_CHECK_OFF(ndis_ipsecv2_offload, ah_esp, 9);
NETVSC_CHECK_OFF(ndis_ipsecv2_offload, xport, 10);
NETVSC_CHECK_OFF(ndis_ipsecv2_offload, tun, 11);
NETVSC_CHECK_OFF(ndis_ipsecv2_offload, xport_tun, 12);
NETVSC_CHECK_OFF(ndis_ipsecv2_offload, lso, 13);
NETVSC_CHECK_OFF(ndis_ipsecv2_offload, ext_seq, 14);
NETVSC_CHECK_OFF(ndis_ipsecv2_offload, pad, 15);
NETVSC_CHECK_OFF(ndis_ipsecv2_offload, udp_esp, 16);
NETVSC_CHECK_OFF(ndis_ipsecv2_offload, auth, 20);
NETVSC_CHECK_OFF(ndis_ipsecv2_offload, crypto, 24);
NETVSC_CHECK_OFF(ndis_ipsecv2_offload, sa_caps, 28);

NETVSC_CHECK_SIZE(ndis_rsc_offload, 4);
NETVSC_CHECK_OFF(ndis_rsc_offload, ip4, 0);
NETVSC_CHECK_OFF(ndis_rsc_offload, ip6, 1);
NETVSC_CHECK_OFF(ndis_rsc_offload, pad, 2);

NETVSC_CHECK_SIZE(ndis_encap_offload, 8);
NETVSC_CHECK_OFF(ndis_encap_offload, flags, 0);
NETVSC_CHECK_OFF(ndis_encap_offload, max_hdr, 4);

NETVSC_CHECK_SIZE(ndis_offload, 156);
NETVSC_CHECK_OFF(ndis_offload, hdr, 0);
NETVSC_CHECK_OFF(ndis_offload, csum, 4);
NETVSC_CHECK_OFF(ndis_offload, lsov1, 36);
NETVSC_CHECK_OFF(ndis_offload, ipsecv1, 52);
NETVSC_CHECK_OFF(ndis_offload, lsov2, 80);
NETVSC_CHECK_OFF(ndis_offload, flags, 108);
NETVSC_CHECK_OFF(ndis_offload, ipsecv2, 112);
NETVSC_CHECK_OFF(ndis_offload, rsc, 144);
NETVSC_CHECK_OFF(ndis_offload, encap_gre, 148);
_Static_assert(NDIS_OFFLOAD_SIZE_REV_1 == 112, "offload rev 1 size");
_Static_assert(NDIS_OFFLOAD_SIZE_REV_2 == 144, "offload rev 2 size");
_Static_assert(NDIS_OFFLOAD_SIZE_REV_3 == 156, "offload rev 3 size");

NETVSC_CHECK_SIZE(ndis_offload_params, 28);
NETVSC_CHECK_OFF(ndis_offload_params, hdr, 0);
NETVSC_CHECK_OFF(ndis_offload_params, ip4_csum, 4);
NETVSC_CHECK_OFF(ndis_offload_params, tcp4_csum, 5);
NETVSC_CHECK_OFF(ndis_offload_params, udp4_csum, 6);
NETVSC_CHECK_OFF(ndis_offload_params, tcp6_csum, 7);
NETVSC_CHECK_OFF(ndis_offload_params, udp6_csum, 8);
NETVSC_CHECK_OFF(ndis_offload_params, lsov1, 9);
NETVSC_CHECK_OFF(ndis_offload_params, ipsecv1, 10);
NETVSC_CHECK_OFF(ndis_offload_params, lsov2_ip4, 11);
NETVSC_CHECK_OFF(ndis_offload_params, lsov2_ip6, 12);
NETVSC_CHECK_OFF(ndis_offload_params, tcp4_conn, 13);
NETVSC_CHECK_OFF(ndis_offload_params, tcp6_conn, 14);
NETVSC_CHECK_OFF(ndis_offload_params, pad0, 15);
NETVSC_CHECK_OFF(ndis_offload_params, flags, 16);
NETVSC_CHECK_OFF(ndis_offload_params, ipsecv2, 20);
NETVSC_CHECK_OFF(ndis_offload_params, ipsecv2_ip4, 21);
NETVSC_CHECK_OFF(ndis_offload_params, rsc_ip4, 22);
NETVSC_CHECK_OFF(ndis_offload_params, rsc_ip6, 23);
NETVSC_CHECK_OFF(ndis_offload_params, encap, 24);
NETVSC_CHECK_OFF(ndis_offload_params, encap_types, 25);
NETVSC_CHECK_OFF(ndis_offload_params, pad1, 26);
_Static_assert(NDIS_OFFLOAD_PARAMS_SIZE_REV_2 == 22, "offload params rev 2 size");
_Static_assert(NDIS_OFFLOAD_PARAMS_SIZE_REV_3 == 28, "offload params rev 3 size");

NETVSC_CHECK_SIZE(ndis_offload_encap, 28);
NETVSC_CHECK_OFF(ndis_offload_encap, hdr, 0);
NETVSC_CHECK_OFF(ndis_offload_encap, ip4_enabled, 4);
NETVSC_CHECK_OFF(ndis_offload_encap, ip4_encap_type, 8);
NETVSC_CHECK_OFF(ndis_offload_encap, ip4_hdr_size, 12);
NETVSC_CHECK_OFF(ndis_offload_encap, ip6_enabled, 16);
NETVSC_CHECK_OFF(ndis_offload_encap, ip6_encap_type, 20);
NETVSC_CHECK_OFF(ndis_offload_encap, ip6_hdr_size, 24);

NETVSC_CHECK_SIZE(ndis_rss_caps, 20);
NETVSC_CHECK_OFF(ndis_rss_caps, hdr, 0);
NETVSC_CHECK_OFF(ndis_rss_caps, caps, 4);
NETVSC_CHECK_OFF(ndis_rss_caps, num_msi, 8);
NETVSC_CHECK_OFF(ndis_rss_caps, num_rx_queues, 12);
NETVSC_CHECK_OFF(ndis_rss_caps, num_indirection, 16);
NETVSC_CHECK_OFF(ndis_rss_caps, pad, 18);
_Static_assert(NDIS_RSS_CAPS_SIZE_REV_1 == 16, "RSS caps rev 1 size");
_Static_assert(NDIS_RSS_CAPS_SIZE_REV_2 == 18, "RSS caps rev 2 size");

NETVSC_CHECK_SIZE(ndis_rss_params, 40);
NETVSC_CHECK_OFF(ndis_rss_params, hdr, 0);
NETVSC_CHECK_OFF(ndis_rss_params, flags, 4);
NETVSC_CHECK_OFF(ndis_rss_params, base_cpu, 6);
NETVSC_CHECK_OFF(ndis_rss_params, hash_info, 8);
NETVSC_CHECK_OFF(ndis_rss_params, itab_size, 12);
NETVSC_CHECK_OFF(ndis_rss_params, pad0, 14);
NETVSC_CHECK_OFF(ndis_rss_params, itab_offset, 16);
NETVSC_CHECK_OFF(ndis_rss_params, key_size, 20);
NETVSC_CHECK_OFF(ndis_rss_params, pad1, 22);
NETVSC_CHECK_OFF(ndis_rss_params, key_offset, 24);
NETVSC_CHECK_OFF(ndis_rss_params, cpumask_offset, 28);
NETVSC_CHECK_OFF(ndis_rss_params, cpumask_count, 32);
NETVSC_CHECK_OFF(ndis_rss_params, cpumask_entry_size, 36);
_Static_assert(NDIS_RSS_PARAMS_SIZE_REV_1 == 28, "RSS params rev 1 size");

_Static_assert(NDIS_RSS_PARAMS_TOEPLITZ_SIZE(NDIS_RSS_ITAB_ENTRIES) == 592, "RSS params, 128");

NETVSC_CHECK_SIZE(ndis_link_state, 40);
NETVSC_CHECK_OFF(ndis_link_state, hdr, 0);
NETVSC_CHECK_OFF(ndis_link_state, media_connect_state, 4);
NETVSC_CHECK_OFF(ndis_link_state, media_duplex_state, 8);
NETVSC_CHECK_OFF(ndis_link_state, pad, 12);
NETVSC_CHECK_OFF(ndis_link_state, xmit_speed, 16);
NETVSC_CHECK_OFF(ndis_link_state, rcv_speed, 24);
NETVSC_CHECK_OFF(ndis_link_state, pause_functions, 32);
NETVSC_CHECK_OFF(ndis_link_state, autoneg_flags, 36);

NETVSC_CHECK_SIZE(ndis_link_speed, 16);
NETVSC_CHECK_OFF(ndis_link_speed, xmit, 0);
NETVSC_CHECK_OFF(ndis_link_speed, rcv, 8);

#undef NETVSC_CHECK_SIZE
#undef NETVSC_CHECK_OFF

#ifdef __cplusplus
}
#endif

#endif /* NETVSC_PROTO_H */
