// SPDX-License-Identifier: MIT
/*
 * NDIS objects: the RSS and offload parameters the guest sets, and the
 * capability and link-state objects a host returns to queries.
 */
#include <errno.h>
#include <string.h>

#include "codec.h"

struct ndis_object_hdr ndis_obj_hdr(uint8_t type, uint8_t revision, uint16_t size)
{
	struct ndis_object_hdr h;

	h.type = type;
	h.revision = revision;
	h.size = size;
	return h;
}

int ndis_build_rss_params(void *out, size_t cap, uint16_t flags, uint32_t hash_info,
			  const uint32_t *itab, uint32_t nitab, const uint8_t *key)
{
	struct ndis_rss_params m;
	uint8_t *p = out;
	uint32_t i, e;
	size_t size = NDIS_RSS_PARAMS_TOEPLITZ_SIZE(nitab);

	if (!out || nitab == 0 || nitab > NDIS_RSS_ITAB_MAX)
		return -EINVAL;
	if (cap < size)
		return -ENOBUFS;
	for (i = 0; itab && i < nitab; i++)
		if (itab[i] >= NVSP_MAX_CHANNELS)
			return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.hdr = ndis_obj_hdr(NDIS_OBJTYPE_RSS_PARAMS, NDIS_RSS_PARAMS_REV_2,
			     NDIS_RSS_PARAMS_SIZE_REV_2);
	m.flags = flags;
	m.hash_info = hash_info;
	m.itab_size = (uint16_t)(4u * nitab);
	m.itab_offset = sizeof(m);
	m.key_size = NDIS_RSS_KEY_SIZE;
	m.key_offset = (uint32_t)(sizeof(m) + 4u * nitab);
	memcpy(p, &m, sizeof(m));
	for (i = 0; i < nitab; i++) {
		e = itab ? itab[i] : 0;
		memcpy(p + sizeof(m) + 4u * i, &e, 4);
	}
	if (key)
		memcpy(p + m.key_offset, key, NDIS_RSS_KEY_SIZE);
	else
		memset(p + m.key_offset, 0, NDIS_RSS_KEY_SIZE);
	return (int)size;
}

int ndis_build_offload_params(void *out, size_t cap, uint8_t revision,
			      const struct ndis_offload_params *p)
{
	struct ndis_offload_params m;
	size_t size;

	if (!out || !p)
		return -EINVAL;
	if (revision == NDIS_OFFLOAD_PARAMS_REV_2)
		size = NDIS_OFFLOAD_PARAMS_SIZE_REV_2;
	else if (revision == NDIS_OFFLOAD_PARAMS_REV_3)
		size = NDIS_OFFLOAD_PARAMS_SIZE_REV_3;
	else
		return -EINVAL;
	if (cap < size)
		return -ENOBUFS;
	m = *p;
	m.hdr = ndis_obj_hdr(NDIS_OBJTYPE_DEFAULT, revision, (uint16_t)size);
	m.pad0 = 0;
	memset(m.pad1, 0, sizeof(m.pad1));
	/* Only @size bytes go out: a revision 2 object has no RSC fields. */
	memcpy(out, &m, size);
	return (int)size;
}

/*
 * Checks an object header: @type (-EPROTO), revision >= 1 (-EPROTO),
 * @min_size <= size <= @len (-EBADMSG).  Gives the header.
 */
static int object(const void *buf, size_t len, uint8_t type, size_t min_size,
		  struct ndis_object_hdr *h)
{
	if (len < sizeof(*h))
		return -EBADMSG;
	memcpy(h, buf, sizeof(*h));
	if (h->type != type || h->revision < 1)
		return -EPROTO;
	if (h->size < min_size || h->size > len)
		return -EBADMSG;
	return 0;
}

int ndis_parse_offload_caps(const void *buf, size_t len, struct ndis_offload *out)
{
	struct ndis_object_hdr h;
	struct ndis_offload m;
	size_t n;
	int rc;

	if (!buf || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = object(buf, len, NDIS_OBJTYPE_OFFLOAD, NDIS_OFFLOAD_SIZE_REV_1, &h);
	if (rc)
		return rc;
	/* Newer revisions may grow past what we know; read what we know. */
	n = h.size < sizeof(m) ? h.size : sizeof(m);
	memset(&m, 0, sizeof(m));
	memcpy(&m, buf, n);
	m.hdr = h;
	*out = m;
	return 0;
}

int ndis_parse_rss_caps(const void *buf, size_t len, struct ndis_rss_caps_info *out)
{
	struct ndis_object_hdr h;
	struct ndis_rss_caps m;
	int rc;

	if (!buf || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = object(buf, len, NDIS_OBJTYPE_RSS_CAPS, NDIS_RSS_CAPS_SIZE_REV_1, &h);
	if (rc)
		return rc;
	memset(&m, 0, sizeof(m));
	memcpy(&m, buf, h.size < sizeof(m) ? h.size : sizeof(m));
	if (h.revision >= NDIS_RSS_CAPS_REV_2) {
		if (h.size < NDIS_RSS_CAPS_SIZE_REV_2)
			return -EBADMSG;
		/* as the host gives it: the caller decides what it can use */
		out->num_indirection = m.num_indirection;
	} else {
		out->num_indirection = 0; /* not said */
	}
	out->caps = m.caps;
	out->num_rx_queues = m.num_rx_queues;
	return 0;
}

int ndis_parse_link_state(const void *buf, size_t len, struct ndis_link_state *out)
{
	struct ndis_object_hdr h;
	struct ndis_link_state m;
	int rc;

	if (!buf || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = object(buf, len, NDIS_OBJTYPE_DEFAULT, sizeof(m), &h);
	if (rc)
		return rc;
	memcpy(&m, buf, sizeof(m));
	m.hdr = h;
	*out = m;
	return 0;
}
