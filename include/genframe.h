/* SPDX-License-Identifier: MIT */
/*
 * genframe.h - the project's test traffic: the frames netvsc-user's gen
 * mode sends, the frames vmbus-hostsim's gen wire sends, the check that
 * netvsc-user's sink --verify applies to both, and the IPv4/UDP frame
 * builder they, the tests and the benchmarks use.  Header only: the host
 * simulator and the program share no library.
 *
 * netvsc-user gen frame (len >= GENFRAME_HDR):
 *   0   Ethernet, IPv4, UDP (42 bytes; flows vary the addresses and ports,
 *       so RSS spreads them)
 *   42  magic GENFRAME_MAGIC ("NVGN"), u32
 *   46  sequence number, u64
 *   54  the frame's length, u32
 *   58  byte i is (seq * 7 + i) mod 256
 *
 * vmbus-hostsim gen frame (len >= GENFRAME_HOST_HDR):
 *   0   to the NIC, from GENFRAME_HOST_SRC, ethertype 0x88b5 (local
 *       experimental)
 *   14  magic GENFRAME_HOST_MAGIC ("VBMG"), u32
 *   18  sequence number, u64
 *   26  byte i is (seq + i) mod 256
 *
 * Integers are in host byte order: both ends run on the same machine.
 */
#ifndef VMBUS_GENFRAME_H
#define VMBUS_GENFRAME_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define GENFRAME_MAGIC 0x4e47564eu /* "NVGN" */
#define GENFRAME_HDR 58u
#define GENFRAME_HOST_ETHERTYPE 0x88b5u
#define GENFRAME_HOST_MAGIC 0x474d4256u /* "VBMG" */
#define GENFRAME_HOST_HDR 26u
/* The source address of host gen frames: a locally administered "host". */
#define GENFRAME_HOST_SRC { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 }
/* Ethernet + IPv4 + UDP headers of genframe_ipv4_udp(). */
#define GENFRAME_UDP_HDR 42u

/* The Internet checksum of @n bytes (an odd last byte padded with zero). */
static inline uint16_t genframe_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/*
 * The headers of an IPv4/UDP frame of @len (>= GENFRAME_UDP_HDR) bytes:
 * Ethernet from @src to @dst, IPv4 from @saddr to @daddr (TTL 64, header
 * checksum filled in), UDP from @sport to @dport without a checksum.
 * Addresses and ports in host order; the payload is left alone.
 */
static inline void genframe_ipv4_udp(uint8_t *f, uint32_t len, const uint8_t dst[6],
				     const uint8_t src[6], uint32_t saddr, uint32_t daddr,
				     uint16_t sport, uint16_t dport)
{
	uint16_t c;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(f + 14, 0, 20);
	f[14] = 0x45;
	f[16] = (uint8_t)((len - 14) >> 8);
	f[17] = (uint8_t)(len - 14);
	f[22] = 64;
	f[23] = 17;
	f[26] = (uint8_t)(saddr >> 24);
	f[27] = (uint8_t)(saddr >> 16);
	f[28] = (uint8_t)(saddr >> 8);
	f[29] = (uint8_t)saddr;
	f[30] = (uint8_t)(daddr >> 24);
	f[31] = (uint8_t)(daddr >> 16);
	f[32] = (uint8_t)(daddr >> 8);
	f[33] = (uint8_t)daddr;
	c = genframe_csum(f + 14, 20);
	f[24] = (uint8_t)(c >> 8);
	f[25] = (uint8_t)c;
	f[34] = (uint8_t)(sport >> 8);
	f[35] = (uint8_t)sport;
	f[36] = (uint8_t)(dport >> 8);
	f[37] = (uint8_t)dport;
	f[38] = (uint8_t)((len - 34) >> 8);
	f[39] = (uint8_t)(len - 34);
	f[40] = f[41] = 0;
}

/*
 * netvsc-user gen frame @seq of @len (>= GENFRAME_HDR) bytes from @src: one
 * of 256 flows from 198.18.x.y to 198.19.0.1 (the benchmarking range), UDP
 * to the discard port.
 */
static inline void genframe_build(uint8_t *f, uint32_t len, const uint8_t src[6], uint64_t seq)
{
	static const uint8_t peer[6] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	uint32_t magic = GENFRAME_MAGIC, i, flow = (uint32_t)(seq % 256);

	genframe_ipv4_udp(f, len, peer, src,
			  198u << 24 | 18u << 16 | (flow >> 4) << 8 | ((flow + 1) & 0xff),
			  198u << 24 | 19u << 16 | 1u, (uint16_t)(20000 + flow * 131), 9);
	memcpy(f + 42, &magic, 4);
	memcpy(f + 46, &seq, 8);
	memcpy(f + 54, &len, 4);
	for (i = GENFRAME_HDR; i < len; i++)
		f[i] = (uint8_t)(seq * 7 + i);
}

/* Byte @i (>= GENFRAME_HOST_HDR) of vmbus-hostsim gen frame @seq. */
static inline uint8_t genframe_host_byte(uint64_t seq, uint32_t i)
{
	return (uint8_t)(seq + i);
}

/* The first GENFRAME_HOST_HDR bytes of vmbus-hostsim gen frame @seq to @dst. */
static inline void genframe_host_header(uint8_t *f, const uint8_t dst[6], uint64_t seq)
{
	static const uint8_t host[6] = GENFRAME_HOST_SRC;
	uint32_t magic = GENFRAME_HOST_MAGIC;

	memcpy(f, dst, 6);
	memcpy(f + 6, host, 6);
	f[12] = (uint8_t)(GENFRAME_HOST_ETHERTYPE >> 8);
	f[13] = (uint8_t)GENFRAME_HOST_ETHERTYPE;
	memcpy(f + 14, &magic, 4);
	memcpy(f + 18, &seq, 8);
}

/*
 * Checks a gen frame, netvsc-user's or vmbus-hostsim's.  Returns 1 with
 * *seq set if it is one and intact, -1 if it is one and damaged, 0 if it
 * is not one.
 */
static inline int genframe_check(const uint8_t *f, uint32_t len, uint64_t *seq)
{
	uint32_t magic, l, i;

	if (len >= GENFRAME_HDR && f[12] == 0x08 && f[13] == 0x00) {
		memcpy(&magic, f + 42, 4);
		if (magic != GENFRAME_MAGIC)
			return 0;
		memcpy(seq, f + 46, 8);
		memcpy(&l, f + 54, 4);
		if (l != len)
			return -1;
		for (i = GENFRAME_HDR; i < len; i++)
			if (f[i] != (uint8_t)(*seq * 7 + i))
				return -1;
		return 1;
	}
	if (len >= GENFRAME_HOST_HDR && f[12] == (uint8_t)(GENFRAME_HOST_ETHERTYPE >> 8) &&
	    f[13] == (uint8_t)GENFRAME_HOST_ETHERTYPE) {
		memcpy(&magic, f + 14, 4);
		if (magic != GENFRAME_HOST_MAGIC)
			return 0;
		memcpy(seq, f + 18, 8);
		for (i = GENFRAME_HOST_HDR; i < len; i++)
			if (f[i] != genframe_host_byte(*seq, i))
				return -1;
		return 1;
	}
	return 0;
}

#endif /* VMBUS_GENFRAME_H */
