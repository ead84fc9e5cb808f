// SPDX-License-Identifier: MIT
/*
 * NVSP builders and parsers.  The checks on host messages follow what a
 * hardened Linux guest makes (hv_netvsc after "Add validation for
 * untrusted Hyper-V values"), see reference/ecosystem-style.md section 4b.
 */
#include <errno.h>
#include <string.h>

#include "codec.h"

/* ------------------------------------------------------------------------ */
/* Builders                                                                  */
/* ------------------------------------------------------------------------ */

static union nvsp_msg nvsp_zeroed(uint32_t type)
{
	union nvsp_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	return m;
}

int nvsp_build_init(void *out, size_t cap, uint32_t version)
{
	union nvsp_msg m = nvsp_zeroed(NVSP_MSG_INIT);

	m.init.ver_min = version;
	m.init.ver_max = version;
	return codec_emit(out, cap, &m, NVSP_MSG_SIZE);
}

int nvsp_build_ndis_config(void *out, size_t cap, uint32_t mtu, uint64_t caps)
{
	union nvsp_msg m = nvsp_zeroed(NVSP_MSG_NDIS_CONFIG);

	m.ndis_config.mtu = mtu;
	m.ndis_config.caps = caps;
	return codec_emit(out, cap, &m, NVSP_MSG_SIZE);
}

int nvsp_build_ndis_ver(void *out, size_t cap, uint32_t ndis_version)
{
	union nvsp_msg m = nvsp_zeroed(NVSP_MSG_NDIS_VER);

	m.ndis_ver.ndis_major = ndis_version >> 16;
	m.ndis_ver.ndis_minor = ndis_version & 0xFFFFu;
	return codec_emit(out, cap, &m, NVSP_MSG_SIZE);
}

int nvsp_build_rxbuf_conn(void *out, size_t cap, uint32_t gpadl, uint16_t id)
{
	union nvsp_msg m = nvsp_zeroed(NVSP_MSG_RXBUF_CONN);

	m.rxbuf_conn.gpadl = gpadl;
	m.rxbuf_conn.id = id;
	return codec_emit(out, cap, &m, NVSP_MSG_SIZE);
}

int nvsp_build_chim_conn(void *out, size_t cap, uint32_t gpadl, uint16_t id)
{
	union nvsp_msg m = nvsp_zeroed(NVSP_MSG_CHIM_CONN);

	m.chim_conn.gpadl = gpadl;
	m.chim_conn.id = id;
	return codec_emit(out, cap, &m, NVSP_MSG_SIZE);
}

int nvsp_build_rxbuf_revoke(void *out, size_t cap, uint16_t id)
{
	union nvsp_msg m = nvsp_zeroed(NVSP_MSG_RXBUF_REVOKE);

	m.rxbuf_revoke.id = id;
	return codec_emit(out, cap, &m, NVSP_MSG_SIZE);
}

int nvsp_build_chim_revoke(void *out, size_t cap, uint16_t id)
{
	union nvsp_msg m = nvsp_zeroed(NVSP_MSG_CHIM_REVOKE);

	m.chim_revoke.id = id;
	return codec_emit(out, cap, &m, NVSP_MSG_SIZE);
}

int nvsp_build_rndis_pkt(void *out, size_t cap, uint32_t channel_type, uint32_t section_index,
			 uint32_t section_size)
{
	uint32_t w[4] = { NVSP_MSG_RNDIS_PKT, channel_type, section_index, section_size };
	uint8_t *o = out;

	if (channel_type != NVSP_CHANNEL_DATA && channel_type != NVSP_CHANNEL_CONTROL)
		return -EINVAL;
	/* A host treats a bad index/size pair as fatal: never send one. */
	if ((section_index == NVSP_CHIM_IDX_NONE) != (section_size == 0))
		return -EINVAL;
	if (!out)
		return -EINVAL;
	if (cap < NVSP_MSG_SIZE)
		return -ENOBUFS;
	/*
	 * Field by field into @out (sent once per section, right after the
	 * section is filled): a copy of a message built on the stack is read
	 * with wide loads that wait for every queued store, the section's too.
	 */
	memcpy(o, &w[0], 4);
	memcpy(o + 4, &w[1], 4);
	memcpy(o + 8, &w[2], 4);
	memcpy(o + 12, &w[3], 4);
	memset(o + 16, 0, NVSP_MSG_SIZE - 16);
	return (int)NVSP_MSG_SIZE;
}

int nvsp_build_rndis_pkt_comp(void *out, size_t cap, uint32_t status)
{
	union nvsp_msg m = nvsp_zeroed(NVSP_MSG_RNDIS_PKT_COMP);

	m.rndis_pkt_comp.status = status;
	return codec_emit(out, cap, &m, sizeof(struct nvsp_rndis_pkt_comp));
}

int nvsp_build_subch_req(void *out, size_t cap, uint32_t count)
{
	union nvsp_msg m = nvsp_zeroed(NVSP_MSG_SUBCH);

	if (count == 0 || count >= NVSP_MAX_CHANNELS)
		return -EINVAL;
	m.subch_req.op = NVSP_SUBCH_OP_ALLOCATE;
	m.subch_req.num_subchannels = count;
	return codec_emit(out, cap, &m, NVSP_MSG_SIZE);
}

int nvsp_build_switch_data_path(void *out, size_t cap, uint32_t datapath)
{
	union nvsp_msg m = nvsp_zeroed(NVSP_MSG_SWITCH_DATA_PATH);

	if (datapath != NVSP_DATAPATH_SYNTHETIC && datapath != NVSP_DATAPATH_VF)
		return -EINVAL;
	m.switch_data_path.active_datapath = datapath;
	return codec_emit(out, cap, &m, NVSP_MSG_SIZE);
}

/* ------------------------------------------------------------------------ */
/* Parsers                                                                   */
/* ------------------------------------------------------------------------ */

size_t nvsp_min_len(uint32_t type)
{
	switch (type) {
	case NVSP_MSG_INIT_COMP:
		return sizeof(struct nvsp_init_comp);
	case NVSP_MSG_RXBUF_CONN_COMP:
		return sizeof(struct nvsp_rxbuf_conn_comp);
	case NVSP_MSG_CHIM_CONN_COMP:
		return sizeof(struct nvsp_chim_conn_comp);
	case NVSP_MSG_RNDIS_PKT:
		return sizeof(struct nvsp_rndis_pkt);
	case NVSP_MSG_RNDIS_PKT_COMP:
		return sizeof(struct nvsp_rndis_pkt_comp);
	case NVSP_MSG_VF_ASSOC:
		return sizeof(struct nvsp_vf_assoc);
	case NVSP_MSG_SWITCH_DATA_PATH:
		return sizeof(struct nvsp_switch_data_path);
	case NVSP_MSG_SUBCH:
		return sizeof(struct nvsp_subch_comp);
	case NVSP_MSG_SEND_INDIRECTION_TABLE:
		return sizeof(struct nvsp_send_table);
	default:
		return 0;
	}
}

int nvsp_msg_type(const void *buf, size_t len, uint32_t *type)
{
	uint32_t t;
	size_t min;

	if (!buf || !type)
		return -EINVAL;
	*type = 0;
	if (len < sizeof(t))
		return -EBADMSG;
	memcpy(&t, buf, sizeof(t));
	*type = t;
	min = nvsp_min_len(t);
	if (min == 0)
		return -ENOMSG;
	return len < min ? -EBADMSG : 0;
}

/*
 * Copies the fixed part of a message of @type into @msg (of @size bytes):
 * -EBADMSG if there is not even a type or not the whole part, -EPROTO if
 * the type is another one.
 */
static int take(const void *buf, size_t len, uint32_t type, void *msg, size_t size)
{
	uint32_t t;

	if (len < sizeof(t))
		return -EBADMSG;
	memcpy(&t, buf, sizeof(t));
	if (t != type)
		return -EPROTO;
	if (len < size)
		return -EBADMSG;
	memcpy(msg, buf, size);
	return 0;
}

int nvsp_parse_init_comp(const void *buf, size_t len, struct nvsp_init_info *out)
{
	struct nvsp_init_comp m;
	int rc;

	if (!buf || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = take(buf, len, NVSP_MSG_INIT_COMP, &m, sizeof(m));
	if (rc)
		return rc;
	out->status = m.status;
	out->max_mdl_chain_len = m.max_mdl_chain_len;
	return 0;
}

int nvsp_parse_rxbuf_conn_comp(const void *buf, size_t len, uint64_t rxbuf_size,
			       struct nvsp_rxbuf_info *out)
{
	struct nvsp_rxbuf_conn_comp m;
	struct nvsp_rxbuf_section s;
	int rc;

	if (!buf || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = take(buf, len, NVSP_MSG_RXBUF_CONN_COMP, &m, sizeof(m));
	if (rc)
		return rc;
	if (m.status != NVSP_STATUS_SUCCESS) {
		out->status = m.status;
		return 0;
	}
	/*
	 * Every driver assumes one section starting at the buffer start: the
	 * ranges of receive packets are offsets into the whole buffer and
	 * slots are found by dividing by the size.  end_offset is not used
	 * (offset + size * count says it), so it is not trusted either.
	 */
	if (m.num_sections != 1)
		return -EPROTO;
	s = m.sections[0];
	if (s.offset != 0)
		return -EPROTO;
	if (s.sub_alloc_size < NETVSC_MIN_SECTION_SIZE || s.num_sub_allocs == 0)
		return -EPROTO;
	if ((uint64_t)s.sub_alloc_size * s.num_sub_allocs > rxbuf_size)
		return -EPROTO;
	out->status = m.status;
	out->section_size = s.sub_alloc_size;
	out->section_count = s.num_sub_allocs;
	return 0;
}

int nvsp_parse_chim_conn_comp(const void *buf, size_t len, uint64_t chim_size,
			      struct nvsp_chim_info *out)
{
	struct nvsp_chim_conn_comp m;
	uint64_t count;
	int rc;

	if (!buf || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = take(buf, len, NVSP_MSG_CHIM_CONN_COMP, &m, sizeof(m));
	if (rc)
		return rc;
	if (m.status != NVSP_STATUS_SUCCESS) {
		out->status = m.status;
		return 0;
	}
	if (m.section_size == 0 || m.section_size > chim_size)
		return -EPROTO;
	count = 0;
	if (m.section_size >= NETVSC_MIN_SECTION_SIZE) {
		count = chim_size / m.section_size;
		if (count > UINT32_MAX)
			count = UINT32_MAX;
	}
	out->status = m.status;
	out->section_size = m.section_size;
	out->section_count = (uint32_t)count;
	return 0;
}

int nvsp_parse_rndis_pkt(const void *buf, size_t len, struct nvsp_rndis_pkt_info *out)
{
	struct nvsp_rndis_pkt m;
	int rc;

	if (!buf || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = take(buf, len, NVSP_MSG_RNDIS_PKT, &m, sizeof(m));
	if (rc)
		return rc;
	out->channel_type = m.channel_type;
	out->section_index = m.section_index;
	out->section_size = m.section_size;
	return 0;
}

int nvsp_parse_rndis_pkt_comp(const void *buf, size_t len, uint32_t *status)
{
	struct nvsp_rndis_pkt_comp m;
	int rc;

	if (!buf || !status)
		return -EINVAL;
	*status = 0;
	rc = take(buf, len, NVSP_MSG_RNDIS_PKT_COMP, &m, sizeof(m));
	if (rc)
		return rc;
	*status = m.status;
	return 0;
}

int nvsp_parse_subch_comp(const void *buf, size_t len, uint32_t requested,
			  struct nvsp_subch_info *out)
{
	struct nvsp_subch_comp m;
	int rc;

	if (!buf || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = take(buf, len, NVSP_MSG_SUBCH, &m, sizeof(m));
	if (rc)
		return rc;
	if (m.status != NVSP_STATUS_SUCCESS) {
		out->status = m.status;
		return 0;
	}
	/* More than asked would make us open channels nobody sized for. */
	if (m.num_subchannels > requested)
		return -EPROTO;
	out->status = m.status;
	out->count = m.num_subchannels;
	return 0;
}

int nvsp_parse_send_table(const void *buf, size_t len, uint32_t nvsp_version, uint32_t nchan,
			  struct nvsp_send_table_info *out)
{
	const size_t tab_bytes = NVSP_SEND_TABLE_SIZE * sizeof(uint32_t);
	struct nvsp_send_table m;
	struct nvsp_send_table_info r;
	size_t off;
	unsigned int i;
	int rc;

	if (!buf || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = take(buf, len, NVSP_MSG_SEND_INDIRECTION_TABLE, &m, sizeof(m));
	if (rc)
		return rc;
	if (m.count != NVSP_SEND_TABLE_SIZE)
		return -EPROTO;
	memset(&r, 0, sizeof(r));
	off = m.offset;
	/*
	 * Hosts of NVSP <= 6 place the table after a full-size message but
	 * report a smaller offset.  Linux reads it at the fixed place when
	 * the message is long enough to hold it there; so do we.
	 */
	if (nvsp_version <= NVSP_VERSION_6 &&
	    len >= NVSP_SEND_TABLE_FIXED_OFFSET + tab_bytes) {
		off = NVSP_SEND_TABLE_FIXED_OFFSET;
		r.offset_fixed = true;
	}
	if (off < sizeof(m) || len < tab_bytes || off > len - tab_bytes)
		return -EBADMSG;
	memcpy(r.entry, (const uint8_t *)buf + off, tab_bytes);
	if (nchan) {
		for (i = 0; i < NVSP_SEND_TABLE_SIZE; i++)
			if (r.entry[i] >= nchan)
				return -EPROTO;
	}
	r.offset = (uint32_t)off;
	*out = r;
	return 0;
}

int nvsp_parse_vf_assoc(const void *buf, size_t len, struct nvsp_vf_info *out)
{
	struct nvsp_vf_assoc m;
	int rc;

	if (!buf || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = take(buf, len, NVSP_MSG_VF_ASSOC, &m, sizeof(m));
	if (rc)
		return rc;
	out->allocated = m.allocated != 0;
	out->serial = m.serial;
	return 0;
}

int nvsp_parse_switch_data_path(const void *buf, size_t len, uint32_t *datapath)
{
	struct nvsp_switch_data_path m;
	int rc;

	if (!buf || !datapath)
		return -EINVAL;
	*datapath = 0;
	rc = take(buf, len, NVSP_MSG_SWITCH_DATA_PATH, &m, sizeof(m));
	if (rc)
		return rc;
	if (m.active_datapath != NVSP_DATAPATH_SYNTHETIC && m.active_datapath != NVSP_DATAPATH_VF)
		return -EPROTO;
	*datapath = m.active_datapath;
	return 0;
}

int nvsp_parse_xfer(const struct vmbus_pkt *pkt, struct nvsp_rndis_pkt_info *out)
{
	if (!pkt || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (pkt->type != VMBUS_PKT_DATA_XFER_PAGES || pkt->xfer_pageset_id != NVSP_RXBUF_ID)
		return -EPROTO;
	if (!pkt->data)
		return -EBADMSG;
	return nvsp_parse_rndis_pkt(pkt->data, pkt->len, out);
}

int nvsp_check_range(const struct vmbus_xfer_range *range, uint64_t rxbuf_size,
		     uint32_t section_size)
{
	uint32_t off, n;

	if (!range)
		return -EINVAL;
	off = range->byte_offset;
	n = range->byte_count;
	if (n == 0 || off > rxbuf_size || n > rxbuf_size - off)
		return -EBADMSG;
	/* One range is one slot; longer would reach into the next one. */
	if (n > section_size)
		return -EBADMSG;
	return 0;
}
