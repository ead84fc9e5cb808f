/* SPDX-License-Identifier: MIT */
/*
 * vmbus/wire.h - on-the-wire and in-ring formats of Hyper-V VMBus.
 *
 * Everything here is laid out exactly as the host and the Linux kernel see
 * it: little endian, no implicit padding.  Every size and offset is pinned by
 * a _Static_assert at the bottom of the file, so a change that moves a field
 * fails to compile.
 *
 * Sources for the layouts: Linux include/linux/hyperv.h (struct
 * hv_ring_buffer, vmpacket_descriptor, vmtransfer_page_packet_header,
 * hv_monitor_page) and the Hyper-V TLFS; the same offsets are used by DPDK's
 * rte_vmbus_reg.h and by OpenVMM's vmbus_ring crate.
 */
#ifndef VMBUS_WIRE_H
#define VMBUS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Ring buffer                                                               */
/* ------------------------------------------------------------------------ */

/*
 * Control page at the start of each ring direction.  The header occupies one
 * system page (4 KiB on x86); the data area starts right after it.
 *
 *   write_index      producer's byte offset into the data area
 *   read_index       consumer's byte offset into the data area
 *   interrupt_mask   set by the consumer: "do not interrupt me"
 *   pending_send_sz  set by a blocked producer: bytes it is waiting for
 *   feature_bits     bit 0: the pending_send_sz protocol is in use
 */
struct vmbus_ring_hdr {
	uint32_t write_index;
	uint32_t read_index;
	uint32_t interrupt_mask;
	uint32_t pending_send_sz;
	uint32_t reserved1[12];
	uint32_t feature_bits;
};

#define VMBUS_RING_FEAT_PENDING_SEND_SZ 0x1u

/* Every record in a ring is followed by this 8-byte trailer. */
#define VMBUS_RING_TRAILER_SIZE 8u

/* Trailer value for a packet that starts at byte offset @start. */
#define VMBUS_RING_TRAILER(start) ((uint64_t)(uint32_t)(start) << 32)

/* Records are padded to this alignment. */
#define VMBUS_RING_ALIGN 8u

/* Hyper-V's own page size: GPA page numbers, int/monitor pages. */
#define VMBUS_HV_PAGE_SIZE 4096u
#define VMBUS_HV_PAGE_SHIFT 12u

/* ------------------------------------------------------------------------ */
/* Packets                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Every packet starts with this descriptor.  Lengths are in 8-byte units:
 * offset8 is where the payload starts (header length / 8, at least 2) and
 * len8 is the whole packet without its trailer.  The payload is
 * (len8 - offset8) * 8 bytes, padded; protocols carry their own length.
 */
struct vmbus_pkt_desc {
	uint16_t type;
	uint16_t offset8;
	uint16_t len8;
	uint16_t flags;
	uint64_t trans_id;
};

enum vmbus_pkt_type {
	VMBUS_PKT_INVALID = 0x0,
	VMBUS_PKT_SYNCH = 0x1,
	VMBUS_PKT_ADD_XFER_PAGESET = 0x2,
	VMBUS_PKT_RM_XFER_PAGESET = 0x3,
	VMBUS_PKT_ESTABLISH_GPADL = 0x4,
	VMBUS_PKT_TEARDOWN_GPADL = 0x5,
	VMBUS_PKT_DATA_INBAND = 0x6,
	VMBUS_PKT_DATA_XFER_PAGES = 0x7,
	VMBUS_PKT_DATA_GPADL = 0x8,
	VMBUS_PKT_DATA_GPA_DIRECT = 0x9,
	VMBUS_PKT_CANCEL_REQUEST = 0xa,
	VMBUS_PKT_COMPLETION = 0xb,
	VMBUS_PKT_DATA_ADDITIONAL_PKT = 0xc,
	VMBUS_PKT_ADDITIONAL_DATA = 0xd,
};

/* The receiver must answer with a VMBUS_PKT_COMPLETION of the same id. */
#define VMBUS_PKT_FLAG_COMPLETION_REQUESTED 0x1u

/* Smallest legal offset8: the 16-byte descriptor itself. */
#define VMBUS_PKT_MIN_OFFSET8 2u

/*
 * Transfer-page packet (type 7, host to guest, e.g. netvsc receive): the
 * ranges point into a buffer the guest shared earlier (the GPADL of the
 * receive buffer); offset8 points past the range array to the inline
 * message.
 */
struct vmbus_xfer_range {
	uint32_t byte_count;
	uint32_t byte_offset;
};

struct vmbus_xfer_page_hdr {
	struct vmbus_pkt_desc desc;
	uint16_t xfer_pageset_id;
	uint8_t sender_owns_set;
	uint8_t reserved;
	uint32_t range_cnt;
	/* struct vmbus_xfer_range ranges[range_cnt]; */
};

/*
 * GPA-direct packet (type 9, guest to host): each range names a byte count,
 * an offset into its first page and ceil((offset + count) / 4096) Hyper-V
 * page numbers.  Inline data follows at offset8 * 8.
 */
struct vmbus_gpa_hdr {
	struct vmbus_pkt_desc desc;
	uint32_t reserved;
	uint32_t range_cnt;
	/* struct vmbus_gpa_range ranges[range_cnt], each with its pfn array */
};

struct vmbus_gpa_range {
	uint32_t byte_count;
	uint32_t byte_offset;
	/* uint64_t pfn[]; */
};

/* ------------------------------------------------------------------------ */
/* Signalling pages                                                          */
/* ------------------------------------------------------------------------ */

/*
 * Interrupt page (one 4 KiB page): the first half carries host-to-guest
 * bits, the second half guest-to-host bits, one bit per relid.
 */
#define VMBUS_INT_PAGE_SIZE 4096u
#define VMBUS_INT_PAGE_SEND_OFFSET 2048u
#define VMBUS_MAX_RELID (2048u * 8u - 1u)

/* Monitor page: four trigger groups of 32 monitored channels each. */
#define VMBUS_MONITOR_GROUPS 4u
#define VMBUS_MONITOR_BITS 32u
#define VMBUS_MONITOR_ID_MAX (VMBUS_MONITOR_GROUPS * VMBUS_MONITOR_BITS - 1u)
#define VMBUS_MONITOR_ID_NONE 0xffu

struct vmbus_monitor_trigger_group {
	uint32_t pending;
	uint32_t armed;
};

struct vmbus_monitor_param {
	uint32_t connection_id;
	uint16_t flag_number;
	uint16_t reserved;
};

struct vmbus_monitor_page {
	uint32_t trigger_state;
	uint32_t reserved1;
	struct vmbus_monitor_trigger_group trigger_group[VMBUS_MONITOR_GROUPS];
	uint64_t reserved2[3];
	int32_t next_checktime[VMBUS_MONITOR_GROUPS][VMBUS_MONITOR_BITS];
	/* in units of 100 ns */
	uint16_t latency[VMBUS_MONITOR_GROUPS][VMBUS_MONITOR_BITS];
	uint64_t reserved3[32];
	struct vmbus_monitor_param parameter[VMBUS_MONITOR_GROUPS][VMBUS_MONITOR_BITS];
	uint8_t reserved4[1984];
};

/* ------------------------------------------------------------------------ */
/* Device classes                                                            */
/* ------------------------------------------------------------------------ */

/* A GUID in its in-memory (Windows, mixed-endian) byte order. */
struct vmbus_guid {
	uint8_t b[16];
};

/* Builds a GUID from its textual groups: a-b-c-d0d1-d2..d7. */
#define VMBUS_GUID_INIT(a, b, c, d0, d1, d2, d3, d4, d5, d6, d7)               \
	{ {                                                                    \
		(uint8_t)(a), (uint8_t)((a) >> 8), (uint8_t)((a) >> 16),       \
		(uint8_t)((a) >> 24), (uint8_t)(b), (uint8_t)((b) >> 8),       \
		(uint8_t)(c), (uint8_t)((c) >> 8), (d0), (d1), (d2), (d3),     \
		(d4), (d5), (d6), (d7)                                         \
	} }

/* f8615163-df3e-46c5-913f-f2d2f965ed0e: synthetic network adapter */
#define VMBUS_CLASS_NIC VMBUS_GUID_INIT(0xf8615163, 0xdf3e, 0x46c5, 0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e)
/* ba6163d9-04a1-4d29-b605-72e2ffb1dc7f: synthetic SCSI controller */
#define VMBUS_CLASS_SCSI VMBUS_GUID_INIT(0xba6163d9, 0x04a1, 0x4d29, 0xb6, 0x05, 0x72, 0xe2, 0xff, 0xb1, 0xdc, 0x7f)
/* 32412632-86cb-44a2-9b5c-50d1417354f5: IDE */
#define VMBUS_CLASS_IDE VMBUS_GUID_INIT(0x32412632, 0x86cb, 0x44a2, 0x9b, 0x5c, 0x50, 0xd1, 0x41, 0x73, 0x54, 0xf5)
/* 2f9bcc4a-0069-4af3-b76b-6fd0be528cda: synthetic Fibre Channel */
#define VMBUS_CLASS_FC VMBUS_GUID_INIT(0x2f9bcc4a, 0x0069, 0x4af3, 0xb7, 0x6b, 0x6f, 0xd0, 0xbe, 0x52, 0x8c, 0xda)
/* 0e0b6031-5213-4934-818b-38d90ced39db: operating system shutdown */
#define VMBUS_CLASS_SHUTDOWN VMBUS_GUID_INIT(0x0e0b6031, 0x5213, 0x4934, 0x81, 0x8b, 0x38, 0xd9, 0x0c, 0xed, 0x39, 0xdb)
/* 9527e630-d0ae-497b-adce-e80ab0175caf: time synchronization */
#define VMBUS_CLASS_TIMESYNC VMBUS_GUID_INIT(0x9527e630, 0xd0ae, 0x497b, 0xad, 0xce, 0xe8, 0x0a, 0xb0, 0x17, 0x5c, 0xaf)
/* 57164f39-9115-4e78-ab55-382f3bd5422d: heartbeat */
#define VMBUS_CLASS_HEARTBEAT VMBUS_GUID_INIT(0x57164f39, 0x9115, 0x4e78, 0xab, 0x55, 0x38, 0x2f, 0x3b, 0xd5, 0x42, 0x2d)
/* a9a0f4e7-5a45-4d96-b827-8a841e8c03e6: key-value pair exchange */
#define VMBUS_CLASS_KVP VMBUS_GUID_INIT(0xa9a0f4e7, 0x5a45, 0x4d96, 0xb8, 0x27, 0x8a, 0x84, 0x1e, 0x8c, 0x03, 0xe6)
/* 525074dc-8985-46e2-8057-a307dc18a502: dynamic memory */
#define VMBUS_CLASS_DM VMBUS_GUID_INIT(0x525074dc, 0x8985, 0x46e2, 0x80, 0x57, 0xa3, 0x07, 0xdc, 0x18, 0xa5, 0x02)
/* cfa8b69e-5b4a-4cc0-b98b-8ba1a1f3f95a: mouse */
#define VMBUS_CLASS_MOUSE VMBUS_GUID_INIT(0xcfa8b69e, 0x5b4a, 0x4cc0, 0xb9, 0x8b, 0x8b, 0xa1, 0xa1, 0xf3, 0xf9, 0x5a)
/* f912ad6d-2b17-48ea-bd65-f927a61c7684: keyboard */
#define VMBUS_CLASS_KBD VMBUS_GUID_INIT(0xf912ad6d, 0x2b17, 0x48ea, 0xbd, 0x65, 0xf9, 0x27, 0xa6, 0x1c, 0x76, 0x84)
/* 35fa2e29-ea23-4236-96ae-3a6ebacba440: volume shadow copy (backup) */
#define VMBUS_CLASS_VSS VMBUS_GUID_INIT(0x35fa2e29, 0xea23, 0x4236, 0x96, 0xae, 0x3a, 0x6e, 0xba, 0xcb, 0xa4, 0x40)
/* da0a7802-e377-4aac-8e77-0558eb1073f8: synthetic video */
#define VMBUS_CLASS_FB VMBUS_GUID_INIT(0xda0a7802, 0xe377, 0x4aac, 0x8e, 0x77, 0x05, 0x58, 0xeb, 0x10, 0x73, 0xf8)
/* 34d14be3-dee4-41c8-9ae7-6b174977c192: guest file copy */
#define VMBUS_CLASS_FCOPY VMBUS_GUID_INIT(0x34d14be3, 0xdee4, 0x41c8, 0x9a, 0xe7, 0x6b, 0x17, 0x49, 0x77, 0xc1, 0x92)
/* 8c2eaf3d-32a7-4b09-ab99-bd1f1c86b501: NetworkDirect */
#define VMBUS_CLASS_ND VMBUS_GUID_INIT(0x8c2eaf3d, 0x32a7, 0x4b09, 0xab, 0x99, 0xbd, 0x1f, 0x1c, 0x86, 0xb5, 0x01)
/* 44c4f61d-4444-4400-9d52-802e27ede19f: PCI Express pass-through */
#define VMBUS_CLASS_PCIE VMBUS_GUID_INIT(0x44c4f61d, 0x4444, 0x4400, 0x9d, 0x52, 0x80, 0x2e, 0x27, 0xed, 0xe1, 0x9f)

/* ------------------------------------------------------------------------ */
/* Layout checks                                                             */
/* ------------------------------------------------------------------------ */

_Static_assert(offsetof(struct vmbus_ring_hdr, write_index) == 0x00, "ring write_index");
_Static_assert(offsetof(struct vmbus_ring_hdr, read_index) == 0x04, "ring read_index");
_Static_assert(offsetof(struct vmbus_ring_hdr, interrupt_mask) == 0x08, "ring interrupt_mask");
_Static_assert(offsetof(struct vmbus_ring_hdr, pending_send_sz) == 0x0c, "ring pending_send_sz");
_Static_assert(offsetof(struct vmbus_ring_hdr, reserved1) == 0x10, "ring reserved1");
_Static_assert(offsetof(struct vmbus_ring_hdr, feature_bits) == 0x40, "ring feature_bits");
_Static_assert(sizeof(struct vmbus_ring_hdr) == 0x44, "ring header size");

_Static_assert(sizeof(struct vmbus_pkt_desc) == 16, "packet descriptor size");
_Static_assert(offsetof(struct vmbus_pkt_desc, type) == 0, "desc type");
_Static_assert(offsetof(struct vmbus_pkt_desc, offset8) == 2, "desc offset8");
_Static_assert(offsetof(struct vmbus_pkt_desc, len8) == 4, "desc len8");
_Static_assert(offsetof(struct vmbus_pkt_desc, flags) == 6, "desc flags");
_Static_assert(offsetof(struct vmbus_pkt_desc, trans_id) == 8, "desc trans_id");

_Static_assert(sizeof(struct vmbus_xfer_range) == 8, "xfer range size");
_Static_assert(offsetof(struct vmbus_xfer_range, byte_count) == 0, "xfer range count");
_Static_assert(offsetof(struct vmbus_xfer_range, byte_offset) == 4, "xfer range offset");
_Static_assert(offsetof(struct vmbus_xfer_page_hdr, xfer_pageset_id) == 16, "xfer pageset id");
_Static_assert(offsetof(struct vmbus_xfer_page_hdr, sender_owns_set) == 18, "xfer sender owns");
_Static_assert(offsetof(struct vmbus_xfer_page_hdr, reserved) == 19, "xfer reserved");
_Static_assert(offsetof(struct vmbus_xfer_page_hdr, range_cnt) == 20, "xfer range_cnt");
_Static_assert(sizeof(struct vmbus_xfer_page_hdr) == 24, "xfer header size");

_Static_assert(offsetof(struct vmbus_gpa_hdr, reserved) == 16, "gpa reserved");
_Static_assert(offsetof(struct vmbus_gpa_hdr, range_cnt) == 20, "gpa range_cnt");
_Static_assert(sizeof(struct vmbus_gpa_hdr) == 24, "gpa header size");
_Static_assert(sizeof(struct vmbus_gpa_range) == 8, "gpa range header size");

_Static_assert(offsetof(struct vmbus_monitor_page, trigger_state) == 0x000, "monitor trigger_state");
_Static_assert(offsetof(struct vmbus_monitor_page, trigger_group) == 0x008, "monitor trigger_group");
_Static_assert(sizeof(struct vmbus_monitor_trigger_group) == 8, "monitor trigger group size");
_Static_assert(offsetof(struct vmbus_monitor_page, reserved2) == 0x028, "monitor reserved2");
_Static_assert(offsetof(struct vmbus_monitor_page, next_checktime) == 0x040, "monitor next_checktime");
_Static_assert(offsetof(struct vmbus_monitor_page, latency) == 0x240, "monitor latency");
_Static_assert(offsetof(struct vmbus_monitor_page, reserved3) == 0x340, "monitor reserved3");
_Static_assert(offsetof(struct vmbus_monitor_page, parameter) == 0x440, "monitor parameter");
_Static_assert(sizeof(struct vmbus_monitor_param) == 8, "monitor parameter size");
_Static_assert(offsetof(struct vmbus_monitor_page, reserved4) == 0x840, "monitor reserved4");
_Static_assert(sizeof(struct vmbus_monitor_page) == 0x1000, "monitor page size");

_Static_assert(sizeof(struct vmbus_guid) == 16, "guid size");

#ifdef __cplusplus
}
#endif

#endif /* VMBUS_WIRE_H */
