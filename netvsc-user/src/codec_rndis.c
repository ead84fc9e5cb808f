// SPDX-License-Identifier: MIT
/*
 * RNDIS builders and parsers, with the per-packet info (PPI) walk.  The
 * parsers make the checks of Linux rndis_filter.c and DPDK hn_rxtx.c (see
 * reference/ecosystem-style.md section 4b), in a form that cannot wrap.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "codec.h"

/* ------------------------------------------------------------------------ */
/* Builders                                                                  */
/* ------------------------------------------------------------------------ */

int rndis_build_init(void *out, size_t cap, uint32_t rid, uint32_t max_xfer)
{
	struct rndis_init_req m;

	if (rid == 0)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.type = RNDIS_MSG_INIT;
	m.len = sizeof(m);
	m.rid = rid;
	m.ver_major = RNDIS_VERSION_MAJOR;
	m.ver_minor = RNDIS_VERSION_MINOR;
	m.max_xfer = max_xfer;
	return codec_emit(out, cap, &m, sizeof(m));
}

/* QUERY and SET: the same request, the buffer right after it. */
static int build_info_req(void *out, size_t cap, uint32_t type, uint32_t rid, uint32_t oid,
			  const void *info, uint32_t info_len)
{
	struct rndis_query_req m;
	size_t total;

	if (!out || rid == 0 || (info_len && !info))
		return -EINVAL;
	if (info_len > INT_MAX - sizeof(m))
		return -EINVAL;
	total = sizeof(m) + info_len;
	if (cap < total)
		return -ENOBUFS;
	memset(&m, 0, sizeof(m));
	m.type = type;
	m.len = (uint32_t)total;
	m.rid = rid;
	m.oid = oid;
	m.info_len = info_len;
	m.info_offset = sizeof(m) - RNDIS_INFO_OFFSET_BASE;
	memcpy(out, &m, sizeof(m));
	if (info_len)
		memcpy((uint8_t *)out + sizeof(m), info, info_len);
	return (int)total;
}

int rndis_build_query(void *out, size_t cap, uint32_t rid, uint32_t oid, const void *in,
		      uint32_t in_len)
{
	return build_info_req(out, cap, RNDIS_MSG_QUERY, rid, oid, in, in_len);
}

int rndis_build_set(void *out, size_t cap, uint32_t rid, uint32_t oid, const void *info,
		    uint32_t info_len)
{
	return build_info_req(out, cap, RNDIS_MSG_SET, rid, oid, info, info_len);
}

/* HALT and KEEPALIVE: a header and a request id. */
static int build_rid_req(void *out, size_t cap, uint32_t type, uint32_t rid)
{
	struct rndis_halt_req m;

	if (rid == 0)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.type = type;
	m.len = sizeof(m);
	m.rid = rid;
	return codec_emit(out, cap, &m, sizeof(m));
}

int rndis_build_halt(void *out, size_t cap, uint32_t rid)
{
	return build_rid_req(out, cap, RNDIS_MSG_HALT, rid);
}

int rndis_build_keepalive(void *out, size_t cap, uint32_t rid)
{
	return build_rid_req(out, cap, RNDIS_MSG_KEEPALIVE, rid);
}

int rndis_build_keepalive_cmplt(void *out, size_t cap, uint32_t rid, uint32_t status)
{
	struct rndis_keepalive_cmplt m;

	memset(&m, 0, sizeof(m));
	m.type = RNDIS_MSG_KEEPALIVE_CMPLT;
	m.len = sizeof(m);
	m.rid = rid;
	m.status = status;
	return codec_emit(out, cap, &m, sizeof(m));
}

/* 802.1Q TCI (pri 15..13, DEI 12, id 11..0) to the NDIS PPI layout. */
static uint32_t tci_to_ndis(uint16_t tci)
{
	uint32_t pri = (uint32_t)tci >> 13, dei = ((uint32_t)tci >> 12) & 1u, id = tci & 0xFFFu;

	return pri | (dei ? NDIS_VLAN_CFI : 0) | (id << NDIS_VLAN_ID_SHIFT);
}

static uint16_t ndis_to_tci(uint32_t v)
{
	uint32_t pri = v & NDIS_VLAN_PRI_MASK, dei = (v & NDIS_VLAN_CFI) ? 1u : 0u;
	uint32_t id = (v & NDIS_VLAN_ID_MASK) >> NDIS_VLAN_ID_SHIFT;

	return (uint16_t)(pri << 13 | dei << 12 | id);
}

#define L4_OFFSET_MAX 0x3FFu
#define TX_FLAGS_ALL (RNDIS_TX_VLAN | RNDIS_TX_CSUM | RNDIS_TX_LSO | RNDIS_TX_HASH)
#define TXCSUM_FLAGS_ALL                                                                           \
	(NDIS_TXCSUM_IPV4 | NDIS_TXCSUM_IPV6 | NDIS_TXCSUM_TCP | NDIS_TXCSUM_UDP |                 \
	 NDIS_TXCSUM_IP_HDR)

/* One little-endian 32-bit field of a message being built in place. */
static inline void put_u32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

int rndis_build_packet(void *out, size_t cap, uint32_t data_len, const struct rndis_tx_meta *meta)
{
	uint32_t ppi_type[3], ppi_val[3];
	unsigned int n = 0, i;
	uint32_t flags = meta ? meta->flags : 0;
	uint32_t hdr;
	uint8_t *o = out;

	if (flags & ~TX_FLAGS_ALL)
		return -EINVAL;
	/* LSO implies the checksums; the host takes one or the other. */
	if ((flags & RNDIS_TX_CSUM) && (flags & RNDIS_TX_LSO))
		return -EINVAL;
	if (flags & RNDIS_TX_HASH) {
		ppi_type[n] = RNDIS_PPI_HASH_VALUE;
		ppi_val[n++] = meta->hash;
	}
	if (flags & RNDIS_TX_VLAN) {
		ppi_type[n] = RNDIS_PPI_8021Q;
		ppi_val[n++] = tci_to_ndis(meta->vlan_tci);
	}
	if (flags & RNDIS_TX_LSO) {
		if (meta->mss == 0 || meta->mss > NDIS_LSO2_MSS_MASK || meta->l4_offset > L4_OFFSET_MAX)
			return -EINVAL;
		ppi_type[n] = RNDIS_PPI_LSO;
		ppi_val[n++] = meta->mss | (uint32_t)meta->l4_offset << NDIS_LSO2_L4_OFFSET_SHIFT |
			       NDIS_LSO2_V2 | (meta->lso_ipv6 ? NDIS_LSO2_IPV6 : 0);
	}
	if (flags & RNDIS_TX_CSUM) {
		if ((meta->csum & ~TXCSUM_FLAGS_ALL) || meta->l4_offset > L4_OFFSET_MAX)
			return -EINVAL;
		ppi_type[n] = RNDIS_PPI_CSUM;
		ppi_val[n++] = meta->csum | (uint32_t)meta->l4_offset << NDIS_TXCSUM_L4_OFFSET_SHIFT;
	}

	hdr = (uint32_t)sizeof(struct rndis_packet) + n * RNDIS_PPI_U32_SIZE;
	if (data_len < NETVSC_ETH_HLEN || data_len > UINT32_MAX - hdr)
		return -EINVAL;
	if (!out)
		return -EINVAL;
	if (cap < hdr)
		return -ENOBUFS;

	/*
	 * Field by field, straight into @out (a send section): a header built
	 * on the stack and copied is read back with wide loads that cannot
	 * take their bytes from the narrow stores still queued, so each copy
	 * waited for every store before it, the previous frame's included.
	 */
	put_u32(o, offsetof(struct rndis_packet, type), RNDIS_MSG_PACKET);
	put_u32(o, offsetof(struct rndis_packet, len), hdr + data_len);
	put_u32(o, offsetof(struct rndis_packet, data_offset), hdr - RNDIS_PACKET_OFFSET_BASE);
	put_u32(o, offsetof(struct rndis_packet, data_len), data_len);
	put_u32(o, offsetof(struct rndis_packet, oob_offset), 0);
	put_u32(o, offsetof(struct rndis_packet, oob_len), 0);
	put_u32(o, offsetof(struct rndis_packet, oob_count), 0);
	put_u32(o, offsetof(struct rndis_packet, ppi_offset), n ? RNDIS_PACKET_MIN_OFFSET : 0);
	put_u32(o, offsetof(struct rndis_packet, ppi_len), n * RNDIS_PPI_U32_SIZE);
	put_u32(o, offsetof(struct rndis_packet, vc_handle), 0);
	put_u32(o, offsetof(struct rndis_packet, reserved), 0);
	for (i = 0; i < n; i++) {
		uint8_t *at = o + sizeof(struct rndis_packet) + i * RNDIS_PPI_U32_SIZE;

		put_u32(at, offsetof(struct rndis_ppi, size), RNDIS_PPI_U32_SIZE);
		put_u32(at, offsetof(struct rndis_ppi, type), ppi_type[i]);
		put_u32(at, offsetof(struct rndis_ppi, offset), sizeof(struct rndis_ppi));
		put_u32(at, sizeof(struct rndis_ppi), ppi_val[i]);
	}
	return (int)hdr;
}

/* ------------------------------------------------------------------------ */
/* Parsers                                                                   */
/* ------------------------------------------------------------------------ */

int rndis_parse_hdr(const void *buf, size_t len, struct rndis_hdr_info *out)
{
	struct rndis_msg_hdr h;

	if (!buf || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (len < sizeof(h))
		return -EBADMSG;
	memcpy(&h, buf, sizeof(h));
	if (h.len < sizeof(h) || h.len > len)
		return -EBADMSG;
	out->type = h.type;
	out->msg_len = h.len;
	return 0;
}

/*
 * Checks the header of a message of @type and copies its @size-byte fixed
 * part into @msg.  The type and length come from the first read (in *hdr);
 * callers take every other field from @msg, so each is read once.
 */
static int frame(const void *buf, size_t len, uint32_t type, void *msg, size_t size,
		 struct rndis_hdr_info *hdr)
{
	int rc = rndis_parse_hdr(buf, len, hdr);

	if (rc)
		return rc;
	if (hdr->type != type)
		return -EPROTO;
	if (hdr->msg_len < size)
		return -EBADMSG;
	memcpy(msg, buf, size);
	return 0;
}

/*
 * A (offset, length) pair whose offset counts from byte 8 of a message of
 * @msg_len bytes and must not point before @min_off (the end of the
 * message's own fields).  Gives the offset from the message start.
 */
static int sub_buffer(uint32_t msg_len, uint32_t off, uint32_t n, uint32_t min_off, uint32_t *abs)
{
	if (off < min_off || off > msg_len - RNDIS_PACKET_OFFSET_BASE)
		return -EBADMSG;
	*abs = off + RNDIS_PACKET_OFFSET_BASE;
	if (n > msg_len - *abs)
		return -EBADMSG;
	return 0;
}

static int ppi_u32(const uint8_t *payload, uint32_t plen, uint32_t *v)
{
	if (plen < sizeof(*v))
		return -EBADMSG;
	memcpy(v, payload, sizeof(*v));
	return 0;
}

static int ppi_walk(const uint8_t *p, size_t len, struct rndis_rx_info *r)
{
	size_t pos = 0;

	while (pos < len) {
		size_t rem = len - pos;
		struct rndis_ppi e;
		const uint8_t *payload;
		uint32_t plen, t, v = 0, bit = 0;
		int rc = 0;

		if (rem < sizeof(e))
			return -EBADMSG;
		memcpy(&e, p + pos, sizeof(e));
		if (e.size % RNDIS_PPI_ALIGN || e.size > rem)
			return -EBADMSG;
		/*
		 * 12 <= offset < size also makes size > 12, so every step
		 * advances: a zero size is rejected here, it cannot loop.
		 */
		if (e.offset < sizeof(e) || e.offset >= e.size)
			return -EBADMSG;
		payload = p + pos + e.offset;
		plen = e.size - e.offset;
		t = e.type & RNDIS_PPI_TYPE_MASK;

		if (!(e.type & RNDIS_PPI_INTERNAL)) {
			switch (t) {
			case RNDIS_PPI_CSUM:
				bit = RNDIS_RX_HAVE_CSUM;
				break;
			case RNDIS_PPI_8021Q:
				bit = RNDIS_RX_HAVE_VLAN;
				break;
			case RNDIS_PPI_HASH_VALUE:
				bit = RNDIS_RX_HAVE_HASH_VALUE;
				break;
			case RNDIS_PPI_HASH_INFO:
				bit = RNDIS_RX_HAVE_HASH_INFO;
				break;
			case RNDIS_PPI_LSO:
				bit = RNDIS_RX_HAVE_LSO;
				break;
			}
			if (bit)
				rc = ppi_u32(payload, plen, &v);
		} else if (t == RNDIS_PPI_PKTINFO_ID) {
			struct rndis_pktinfo_id id;

			bit = RNDIS_RX_HAVE_PKTINFO_ID;
			if (plen < sizeof(id))
				return -EBADMSG;
			memcpy(&id, payload, sizeof(id));
			if (!(r->have & bit)) {
				r->frag_flags = id.flags;
				r->frag_id = id.pkt_id;
			}
		}
		if (rc)
			return rc;
		if (bit && !(r->have & bit)) {
			switch (bit) {
			case RNDIS_RX_HAVE_CSUM:
				r->csum = v;
				break;
			case RNDIS_RX_HAVE_VLAN:
				r->vlan_tci = ndis_to_tci(v);
				break;
			case RNDIS_RX_HAVE_HASH_VALUE:
				r->hash_value = v;
				break;
			case RNDIS_RX_HAVE_HASH_INFO:
				r->hash_info = v;
				break;
			case RNDIS_RX_HAVE_LSO:
				r->lso = v;
				break;
			}
			r->have |= bit;
		}
		r->ppi_count++;
		pos += e.size;
	}
	return 0;
}

int rndis_parse_ppi(const void *buf, size_t len, struct rndis_rx_info *out)
{
	struct rndis_rx_info r;
	int rc;

	if (!buf || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	rc = ppi_walk(buf, len, &r);
	if (rc)
		return rc;
	*out = r;
	return 0;
}

/* A failed parse leaves nothing half filled. */
static int rx_info_fail(struct rndis_rx_info *out, int rc)
{
	memset(out, 0, sizeof(*out));
	return rc;
}

int rndis_parse_packet(const void *buf, size_t len, struct rndis_rx_info *out)
{
	struct rndis_hdr_info h;
	struct rndis_packet p;
	uint32_t data_abs, ppi_abs;
	int rc;

	if (!buf || !out)
		return -EINVAL;
	/*
	 * Filled in place, once per received frame: a result built on the
	 * stack and copied out was read back with wide loads that could not
	 * take their bytes from the narrow stores just made, and waited.
	 */
	memset(out, 0, sizeof(*out));
	rc = frame(buf, len, RNDIS_MSG_PACKET, &p, sizeof(p), &h);
	if (rc)
		return rc;
	out->msg_len = h.msg_len;

	rc = sub_buffer(h.msg_len, p.data_offset, p.data_len, RNDIS_PACKET_MIN_OFFSET, &data_abs);
	if (rc)
		return rx_info_fail(out, rc);
	if (p.data_len < NETVSC_ETH_HLEN)
		return rx_info_fail(out, -EBADMSG);
	out->data_off = data_abs;
	out->data_len = p.data_len;

	/* With no PPI bytes the offset means nothing; hosts leave it 0. */
	if (p.ppi_len) {
		rc = sub_buffer(h.msg_len, p.ppi_offset, p.ppi_len, RNDIS_PACKET_MIN_OFFSET, &ppi_abs);
		if (rc)
			return rx_info_fail(out, rc);
		if (ppi_abs % RNDIS_PPI_ALIGN)
			return rx_info_fail(out, -EBADMSG);
		rc = ppi_walk((const uint8_t *)buf + ppi_abs, p.ppi_len, out);
		if (rc)
			return rx_info_fail(out, rc);
	}
	return 0;
}

/* Past rid + status + info_len + info_offset, counted from byte 8. */
#define QUERY_INFO_MIN_OFFSET (sizeof(struct rndis_query_cmplt) - RNDIS_INFO_OFFSET_BASE)
/* Past status + buf_len + buf_offset, counted from byte 8. */
#define INDICATE_BUF_MIN_OFFSET (sizeof(struct rndis_indicate) - RNDIS_INDICATE_OFFSET_BASE)

int rndis_parse_init_cmplt(const void *buf, size_t len, struct rndis_init_info *out)
{
	struct rndis_hdr_info h;
	struct rndis_init_cmplt m;
	struct rndis_init_info r;
	int rc;

	if (!buf || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = frame(buf, len, RNDIS_MSG_INIT_CMPLT, &m, sizeof(m), &h);
	if (rc)
		return rc;
	memset(&r, 0, sizeof(r));
	r.rid = m.rid;
	r.status = m.status;
	if (m.status != RNDIS_STATUS_SUCCESS) {
		*out = r;
		return 0;
	}
	/* An alignment above a page would waste whole sections per packet. */
	if (m.align_factor > NETVSC_RNDIS_MAX_ALIGN_SHIFT)
		return -EPROTO;
	if (m.max_xfer < sizeof(struct rndis_packet) + NETVSC_ETH_HLEN)
		return -EPROTO;
	r.ver_major = m.ver_major;
	r.ver_minor = m.ver_minor;
	r.medium = m.medium;
	r.max_pkts = m.max_pkts;
	r.max_xfer = m.max_xfer;
	r.align_factor = m.align_factor;
	r.agg_pkts = m.max_pkts ? m.max_pkts : 1;
	r.agg_align = 1u << m.align_factor;
	if (r.agg_align < NETVSC_RNDIS_MIN_ALIGN)
		r.agg_align = NETVSC_RNDIS_MIN_ALIGN;
	*out = r;
	return 0;
}

int rndis_parse_query_cmplt(const void *buf, size_t len, struct rndis_query_info *out)
{
	struct rndis_hdr_info h;
	struct rndis_query_cmplt m;
	struct rndis_query_info r;
	int rc;

	if (!buf || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = frame(buf, len, RNDIS_MSG_QUERY_CMPLT, &m, sizeof(m), &h);
	if (rc)
		return rc;
	memset(&r, 0, sizeof(r));
	r.rid = m.rid;
	r.status = m.status;
	if (m.info_len) {
		rc = sub_buffer(h.msg_len, m.info_offset, m.info_len, QUERY_INFO_MIN_OFFSET,
				&r.info_off);
		if (rc)
			return rc;
		r.info_len = m.info_len;
	}
	*out = r;
	return 0;
}

int rndis_parse_set_cmplt(const void *buf, size_t len, struct rndis_cmplt_info *out)
{
	struct rndis_hdr_info h;
	struct rndis_set_cmplt m;
	int rc;

	if (!buf || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = frame(buf, len, RNDIS_MSG_SET_CMPLT, &m, sizeof(m), &h);
	if (rc)
		return rc;
	out->rid = m.rid;
	out->status = m.status;
	return 0;
}

int rndis_parse_keepalive_cmplt(const void *buf, size_t len, struct rndis_cmplt_info *out)
{
	struct rndis_hdr_info h;
	struct rndis_keepalive_cmplt m;
	int rc;

	if (!buf || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = frame(buf, len, RNDIS_MSG_KEEPALIVE_CMPLT, &m, sizeof(m), &h);
	if (rc)
		return rc;
	out->rid = m.rid;
	out->status = m.status;
	return 0;
}

int rndis_parse_keepalive(const void *buf, size_t len, uint32_t *rid)
{
	struct rndis_hdr_info h;
	struct rndis_keepalive_req m;
	int rc;

	if (!buf || !rid)
		return -EINVAL;
	*rid = 0;
	rc = frame(buf, len, RNDIS_MSG_KEEPALIVE, &m, sizeof(m), &h);
	if (rc)
		return rc;
	*rid = m.rid;
	return 0;
}

int rndis_parse_reset_cmplt(const void *buf, size_t len, struct rndis_reset_info *out)
{
	struct rndis_hdr_info h;
	struct rndis_reset_cmplt m;
	int rc;

	if (!buf || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = frame(buf, len, RNDIS_MSG_RESET_CMPLT, &m, sizeof(m), &h);
	if (rc)
		return rc;
	out->status = m.status;
	out->addressing_reset = m.addressing_reset;
	return 0;
}

int rndis_parse_indicate(const void *buf, size_t len, struct rndis_indicate_info *out)
{
	struct rndis_hdr_info h;
	struct rndis_indicate m;
	struct rndis_indicate_info r;
	int rc;

	if (!buf || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = frame(buf, len, RNDIS_MSG_INDICATE, &m, sizeof(m), &h);
	if (rc)
		return rc;
	memset(&r, 0, sizeof(r));
	r.status = m.status;
	if (m.buf_len) {
		rc = sub_buffer(h.msg_len, m.buf_offset, m.buf_len, INDICATE_BUF_MIN_OFFSET,
				&r.buf_off);
		if (rc)
			return rc;
		r.buf_len = m.buf_len;
	}
	*out = r;
	return 0;
}
