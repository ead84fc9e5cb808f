/* SPDX-License-Identifier: MIT */
/*
 * Rings seen from outside: the state of one direction read without
 * writing, and a read-only view of a channel through its ring file.
 *
 * The memory may be written by the host and by the guest's driver while we
 * look, and may be garbage: every shared field is loaded once, every
 * derived value is checked before it is used, and nothing is ever stored.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scan.h"

#define DESC_SIZE ((uint32_t)sizeof(struct vmbus_pkt_desc))

OPTS_CHECK_OUT(vmbus_ring_state);

static uint32_t load_once(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Copies @len bytes at @pos of the data area, in two pieces at the wrap. */
static void copy_wrapped(const uint8_t *data, uint32_t dsize, uint32_t pos, void *dst,
			 uint32_t len)
{
	uint32_t first = dsize - pos;

	if (len <= first) {
		memcpy(dst, data + pos, len);
		return;
	}
	memcpy(dst, data + pos, first);
	memcpy((uint8_t *)dst + first, data, len - first);
}

VMBUS_API int vmbus_ring_inspect(const void *mem, size_t size, size_t hdr_size,
				 struct vmbus_ring_state *out)
{
	const struct vmbus_ring_hdr *h = mem;
	struct vmbus_ring_state s;
	uint32_t w, r, dsize, len;
	int ret = 0;

	if (opts_sz(out) < sizeof(size_t))
		return -EINVAL;
	if (!mem || hdr_size < sizeof(struct vmbus_ring_hdr) || size <= hdr_size ||
	    size - hdr_size > UINT32_MAX)
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	dsize = (uint32_t)(size - hdr_size);
	s.data_size = dsize;
	/* read_index first: it never passes write_index, so a write_index read
	 * after it covers every byte from read_index on (both may move) */
	s.read_index = r = load_once(&h->read_index);
	s.write_index = w = load_once(&h->write_index);
	s.interrupt_mask = load_once(&h->interrupt_mask);
	s.pending_send_sz = load_once(&h->pending_send_sz);
	s.feature_bits = load_once(&h->feature_bits);

	if (dsize % VMBUS_RING_ALIGN) {
		s.problem = "the data area is not a multiple of 8 bytes";
		ret = -EPROTO;
	} else if (w >= dsize || r >= dsize) {
		s.problem = w >= dsize ? "write_index is beyond the data area" :
					 "read_index is beyond the data area";
		ret = -EPROTO;
	} else if ((w | r) % VMBUS_RING_ALIGN) {
		s.problem = w % VMBUS_RING_ALIGN ? "write_index is not 8-byte aligned" :
						   "read_index is not 8-byte aligned";
		ret = -EPROTO;
	}
	if (ret) {
		OPTS_FILL(out, &s, vmbus_ring_state);
		return ret;
	}
	s.bytes_to_write = w >= r ? dsize - (w - r) : r - w;
	s.bytes_to_read = dsize - s.bytes_to_write;

	/* the next record, if a whole descriptor is there */
	if (s.bytes_to_read >= DESC_SIZE) {
		const uint8_t *data = (const uint8_t *)mem + hdr_size;
		unsigned int tries;

		/*
		 * The bytes between read_index and write_index are published
		 * and stay as they are until the reader moves on; if it moved
		 * while we copied, the copy may be of reused space: take a
		 * fresh look (a few times; a ring this busy is shown as is).
		 */
		for (tries = 0;; tries++) {
			copy_wrapped(data, dsize, r, &s.next, DESC_SIZE);
			if (load_once(&h->read_index) == r || tries == 8)
				break;
			r = load_once(&h->read_index);
			w = load_once(&h->write_index);
			if (w >= dsize || r >= dsize || (w | r) % VMBUS_RING_ALIGN)
				break;
			s.write_index = w;
			s.read_index = r;
			s.bytes_to_write = w >= r ? dsize - (w - r) : r - w;
			s.bytes_to_read = dsize - s.bytes_to_write;
			if (s.bytes_to_read < DESC_SIZE)
				break;
		}
		s.has_packet = s.bytes_to_read >= DESC_SIZE && w < dsize && r < dsize &&
			       !((w | r) % VMBUS_RING_ALIGN);
	}
	if (s.has_packet) {
		len = (uint32_t)s.next.len8 * 8u;
		if (s.next.offset8 < VMBUS_PKT_MIN_OFFSET8)
			s.packet_problem = "offset8 is below 2 (the descriptor's own size)";
		else if (s.next.offset8 > s.next.len8)
			s.packet_problem = "offset8 is beyond len8";
		else if ((uint64_t)len + VMBUS_RING_TRAILER_SIZE > s.bytes_to_read)
			s.packet_problem = "len8 is beyond the bytes written";
		if (s.packet_problem)
			ret = -EPROTO;
	} else if (s.bytes_to_read && s.bytes_to_read < DESC_SIZE) {
		s.problem = "fewer bytes written than a packet descriptor";
		ret = -EPROTO;
	}
	OPTS_FILL(out, &s, vmbus_ring_state);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* read-only views                                                           */
/* ------------------------------------------------------------------------ */

struct vmbus_ring_view {
	const uint8_t *map;
	size_t map_len;
	size_t half; /* one direction, header included */
	size_t hdr_size;
	uint32_t relid;
};

/* The size of UIO map 0 (the primary's rings) of /dev/uio@index, or 0. */
static uint64_t uio_map0_size(const char *root, int index)
{
	char path[PATH_MAX], buf[64];
	uint64_t v;

	if (index < 0 ||
	    vmbus_mkpath(path, sizeof(path), "%s/sys/class/uio/uio%d/maps/map0/size", root, index) ||
	    vmbus_read_file(path, buf, sizeof(buf)) < 0 || vmbus_parse_u64(buf, 0, &v))
		return 0;
	return v;
}

VMBUS_API int vmbus_ring_view_open(const char *guid, uint32_t relid,
				   const struct vmbus_scan_opts *opts, struct vmbus_ring_view **out)
{
	struct vmbus_dev_desc dd = { .sz = sizeof(dd) };
	struct vmbus_scan_opts inner = { .sz = sizeof(inner) };
	struct vmbus_ring_view *v;
	struct scan_ctx c;
	char path[PATH_MAX];
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t len;
	struct stat st;
	void *map;
	int fd, err;

	if ((err = scan_ctx_init(&c, opts)))
		return err;
	if (!out)
		return scan_fail(&c, -EINVAL, "vmbus_ring_view_open: no output pointer");
	*out = NULL;
	inner.root = c.root;
	inner.errbuf = c.err;
	inner.errbuf_len = c.errlen;
	if ((err = vmbus_dev_describe(guid, &inner, &dd)))
		return err;
	if (relid == 0)
		relid = dd.relid;
	if (vmbus_mkpath(path, sizeof(path), "%s/sys/bus/vmbus/devices/%s/channels/%u/ring", c.root,
			 dd.guid, relid))
		return scan_fail(&c, -ENAMETOOLONG, "vmbus device %s: path too long", dd.guid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		if (err == -ENOENT) {
			char cdir[PATH_MAX];

			if (vmbus_mkpath(cdir, sizeof(cdir), "%s/sys/bus/vmbus/devices/%s/channels/%u",
					 c.root, dd.guid, relid) ||
			    stat(cdir, &st) != 0)
				return scan_fail(&c, -ENOENT, "vmbus device %s: no channel %u", dd.guid,
						 relid);
			return scan_fail(&c, -ENXIO, "vmbus device %s: channel %u has no ring file "
					 "(%s): no UIO driver holds it (driver: %s)", dd.guid, relid,
					 path, dd.driver[0] ? dd.driver : "none");
		}
		if (err == -EACCES || err == -EPERM)
			return scan_fail(&c, -EACCES, "vmbus device %s: permission denied opening %s "
					 "(ring files are root's)", dd.guid, path);
		return scan_fail(&c, err, "vmbus device %s: cannot open %s: %s", dd.guid, path,
				 strerror(-err));
	}
	if (fstat(fd, &st) != 0 || st.st_size <= 0) {
		close(fd);
		return scan_fail(&c, -EBADMSG, "vmbus device %s: %s has no size", dd.guid, path);
	}
	len = (uint64_t)st.st_size;
	/* before Linux 6.15 the file's size is a constant; the primary's real
	 * size is map 0's (later kernels report the real size in both) */
	if (relid == dd.relid) {
		uint64_t m0 = uio_map0_size(c.root, dd.uio_index);

		if (m0 && m0 < len)
			len = m0;
	}
	if (len % 2 || len / 2 <= page || (len / 2 - page) % VMBUS_RING_ALIGN || len > SIZE_MAX) {
		close(fd);
		return scan_fail(&c, -EBADMSG, "vmbus device %s: %s: %llu bytes cannot hold two rings "
				 "of a %zu-byte header and data", dd.guid, path,
				 (unsigned long long)len, page);
	}
	map = mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, fd, 0);
	err = map == MAP_FAILED ? -errno : 0;
	close(fd);
	if (err == -ENODEV)
		return scan_fail(&c, err, "vmbus device %s: channel %u is not open (the kernel maps "
				 "%s only while /dev/uio%d is open)", dd.guid, relid, path,
				 dd.uio_index);
	if (err)
		return scan_fail(&c, err, "vmbus device %s: cannot map %s read-only: %s", dd.guid,
				 path, strerror(-err));
	v = calloc(1, sizeof(*v));
	if (!v) {
		munmap(map, (size_t)len);
		return scan_fail(&c, -ENOMEM, "out of memory");
	}
	v->map = map;
	v->map_len = (size_t)len;
	v->half = (size_t)len / 2;
	v->hdr_size = page;
	v->relid = relid;
	*out = v;
	return 0;
}

VMBUS_API uint32_t vmbus_ring_view_relid(const struct vmbus_ring_view *view)
{
	return view ? view->relid : 0;
}

VMBUS_API size_t vmbus_ring_view_size(const struct vmbus_ring_view *view)
{
	return view ? view->half : 0;
}

VMBUS_API int vmbus_ring_view_read(const struct vmbus_ring_view *view,
				   struct vmbus_ring_state *out_ring, struct vmbus_ring_state *in_ring)
{
	int a = 0, b = 0;

	if (!view)
		return -EINVAL;
	if (out_ring)
		a = vmbus_ring_inspect(view->map, view->half, view->hdr_size, out_ring);
	if (in_ring)
		b = vmbus_ring_inspect(view->map + view->half, view->half, view->hdr_size, in_ring);
	if (a == -EINVAL || b == -EINVAL)
		return -EINVAL;
	return a ? a : b;
}

VMBUS_API void vmbus_ring_view_close(struct vmbus_ring_view *view)
{
	if (!view)
		return;
	munmap((void *)view->map, view->map_len);
	free(view);
}
