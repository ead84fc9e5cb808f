/* SPDX-License-Identifier: MIT */
/*
 * NetVSP: the transmit offloads the host announces (netvsp_rndis.c): TCP
 * and UDP checksums and large send (LSOv2), over IPv4 and IPv6.
 *
 * A guest that uses them sends a frame with a checksum PPI, and the host
 * fills in the TCP or UDP checksum (and the IPv4 header checksum when
 * asked), or with an LSO PPI: one TCP segment of up to 62780 bytes that
 * the host cuts into segments of the MSS the PPI names, each with its IP
 * length, identification and header checksum, its TCP sequence number,
 * flags and checksum.  OpenVMM's netvsp hands the same requests to its
 * backend (vm/devices/net/netvsp/src/lib.rs: PPI_TCP_IP_CHECKSUM sets
 * offload_tcp_checksum or offload_udp_checksum, PPI_LSO sets
 * offload_tcp_segmentation with the MSS, TCP checksum and, for IPv4, the
 * header checksum), and NDIS asks the same of any LSOv2 miniport
 * ("Offloading the Segmentation of Large TCP Packets": it also computes
 * the IP and TCP checksums of each segment, options included).
 *
 * A request the frame cannot satisfy (offsets outside it, not the IP
 * version or protocol it names, an MSS that does not fit the MTU) fails
 * the frame, as other bad frames do.
 */
#include <errno.h>
#include <string.h>

#include "netvsp.h"

#define ETH_HDR 14u
#define IP4_MIN 20u
#define IP6_HDR 40u
#define TCP_MIN 20u

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* The ones' complement sum of @len bytes, added to @sum. */
static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The IP version of frame @f (@len bytes) as its EtherType says: 4, 6 or 0. */
static unsigned int ip_version(const uint8_t *f, uint32_t len)
{
	if (len < ETH_HDR + IP4_MIN)
		return 0;
	if (get16(f + 12) == 0x0800 && f[ETH_HDR] >> 4 == 4)
		return 4;
	if (get16(f + 12) == 0x86dd && len >= ETH_HDR + IP6_HDR && f[ETH_HDR] >> 4 == 6)
		return 6;
	return 0;
}

static void ip4_checksum(uint8_t *f)
{
	uint32_t ihl = (f[ETH_HDR] & 0x0fu) * 4;

	put16(f + ETH_HDR + 10, 0);
	put16(f + ETH_HDR + 10, fold(sum16(0, f + ETH_HDR, ihl)));
}

/* The TCP or UDP checksum of the @l4len bytes at @l4off, with the pseudo header. */
static void l4_checksum(uint8_t *f, unsigned int ipv, uint32_t l4off, uint32_t l4len, uint8_t proto,
			uint32_t csum_at)
{
	uint32_t sum;
	uint16_t c;

	if (ipv == 4)
		sum = sum16(0, f + ETH_HDR + 12, 8); /* source, destination */
	else
		sum = sum16(0, f + ETH_HDR + 8, 32);
	sum += proto + (l4len >> 16) + (l4len & 0xffff);
	put16(f + csum_at, 0);
	c = fold(sum16(sum, f + l4off, l4len));
	/* UDP sends 0 as "no checksum": a computed 0 goes as all ones */
	if (proto == 17 && c == 0)
		c = 0xffff;
	put16(f + csum_at, c);
}

/* Where the IP payload of frame @f ends, from its length field; 0 if past @len. */
static uint32_t ip_end(const uint8_t *f, uint32_t len, unsigned int ipv)
{
	uint32_t end = ipv == 4 ? ETH_HDR + get16(f + ETH_HDR + 2) :
				  ETH_HDR + IP6_HDR + get16(f + ETH_HDR + 4);

	return end <= len ? end : 0;
}

/* Checksums asked for by a checksum PPI, on the frame in place. */
static int tx_checksum(uint8_t *f, uint32_t len, uint32_t info)
{
	unsigned int ipv = ip_version(f, len);
	uint32_t l4off = (info & NDIS_TXCSUM_L4_OFFSET_MASK) >> NDIS_TXCSUM_L4_OFFSET_SHIFT, end;
	bool tcp = info & NDIS_TXCSUM_TCP, udp = !tcp && (info & NDIS_TXCSUM_UDP);

	if (!(info & (NDIS_TXCSUM_IPV4 | NDIS_TXCSUM_IPV6)))
		return 0; /* nothing asked */
	if (ipv != ((info & NDIS_TXCSUM_IPV4) ? 4u : 6u))
		return -EINVAL;
	if (ipv == 4 && ((f[ETH_HDR] & 0x0fu) * 4 < IP4_MIN ||
			 (f[ETH_HDR] & 0x0fu) * 4 > len - ETH_HDR))
		return -EINVAL;
	if (ipv == 4 && (info & NDIS_TXCSUM_IP_HDR))
		ip4_checksum(f);
	if (!tcp && !udp)
		return 0;
	/* no offset: right after the IP header (netvsp does the same) */
	if (l4off < ETH_HDR)
		l4off = ipv == 4 ? ETH_HDR + (f[ETH_HDR] & 0x0fu) * 4 : ETH_HDR + IP6_HDR;
	end = ip_end(f, len, ipv);
	if (!end || l4off + (tcp ? TCP_MIN : 8u) > end)
		return -EINVAL;
	l4_checksum(f, ipv, l4off, end - l4off, tcp ? 6 : 17, l4off + (tcp ? 16u : 6u));
	return 0;
}

int nsp_tx_offload(struct nsp_state *ns, const uint8_t *f, uint32_t len, const struct nsp_txoff *o,
		   int (*emit)(void *arg, const uint8_t *frame, uint32_t len), void *arg)
{
	static uint8_t seg[NSP_FRAME_MAX];
	unsigned int ipv = ip_version(f, len);
	uint32_t mss, l4off, thl, hdr, payload, off, k, seq;
	uint16_t id = 0;
	uint8_t flags;
	int err;

	if (!o->has_lso) {
		if (len > sizeof(seg))
			return -EINVAL;
		memcpy(seg, f, len);
		if (o->has_csum && (err = tx_checksum(seg, len, o->csum)))
			return err;
		return emit(arg, seg, len);
	}

	mss = o->lso & NDIS_LSO2_MSS_MASK;
	l4off = (o->lso & NDIS_LSO2_L4_OFFSET_MASK) >> NDIS_LSO2_L4_OFFSET_SHIFT;
	if (ipv != ((o->lso & NDIS_LSO2_IPV6) ? 6u : 4u) || mss == 0 ||
	    l4off < ETH_HDR + (ipv == 4 ? IP4_MIN : IP6_HDR) || l4off + TCP_MIN > len)
		return -EINVAL;
	if (ipv == 4 && (f[ETH_HDR + 9] != 6 || ETH_HDR + (f[ETH_HDR] & 0x0fu) * 4 != l4off))
		return -EINVAL;
	thl = (uint32_t)(f[l4off + 12] >> 4) * 4;
	hdr = l4off + thl;
	if (thl < TCP_MIN || hdr > len || hdr + mss > ns->mtu || hdr + mss > sizeof(seg))
		return -EINVAL;
	payload = len - hdr;
	seq = get32(f + l4off + 4);
	flags = f[l4off + 13];
	if (ipv == 4)
		id = get16(f + ETH_HDR + 4);
	/* the guest's IP length fields are 0 or the whole: each segment gets its own */
	for (k = 0, off = 0; k == 0 || off < payload; k++) {
		uint32_t chunk = payload - off < mss ? payload - off : mss, sl = hdr + chunk;
		bool last = off + chunk >= payload;

		memcpy(seg, f, hdr);
		memcpy(seg + hdr, f + hdr + off, chunk);
		if (ipv == 4) {
			put16(seg + ETH_HDR + 2, (uint16_t)(sl - ETH_HDR));
			put16(seg + ETH_HDR + 4, (uint16_t)(id + k));
			ip4_checksum(seg);
		} else {
			put16(seg + ETH_HDR + 4, (uint16_t)(sl - ETH_HDR - IP6_HDR));
		}
		put32(seg + l4off + 4, seq + off);
		/* FIN and PSH end the last segment; CWR belongs to the first */
		seg[l4off + 13] = (uint8_t)(flags & ~(last ? 0u : 0x09u) & ~(k ? 0x80u : 0u));
		l4_checksum(seg, ipv, l4off, sl - l4off, 6, l4off + 16);
		err = emit(arg, seg, sl);
		if (err)
			return err;
		off += chunk;
	}
	return 0;
}
