/* SPDX-License-Identifier: MIT */
/*
 * vmbus/vmbus.h - drive Hyper-V VMBus devices from userspace.
 *
 * libvmbus finds a VMBus device by its instance GUID, maps the memory a UIO
 * driver (hv_uio or the kernel's uio_hv_generic) exposes for it, and moves
 * packets through its channel rings.  It runs the same code against a real
 * guest (/sys and /dev) and against a simulated VMBus built by vmbus-hostsim
 * under a root directory.
 *
 * Conventions
 *   - Functions return 0 (or a count) on success and a negative errno on
 *     failure.  They never exit, abort or print.  The errors that mean the
 *     same thing everywhere:
 *         -ENODEV     the host rescinded the device; every later call on it
 *                     returns -ENODEV, only close still works
 *         -EPROTO     the host wrote corrupt data; the channel is now broken
 *                     and every later call on it returns -EPROTO
 *         -EAGAIN     the ring is full (send) or empty (receive)
 *         -ETIMEDOUT  a wait ran out of time
 *         -EINVAL     the caller passed something invalid
 *   - Everything the host writes is untrusted: shared indices are read once
 *     and range-checked, packets are copied out of the ring before they are
 *     parsed, and every length and offset is checked in overflow-safe form.
 *   - Handles are opaque.  There is no global state.  A channel is used by
 *     one thread at a time; different channels may be used by different
 *     threads at once.
 *   - Structs that may grow begin with `size_t sz`: set it to sizeof of
 *     your struct, and the library and your program may be built against
 *     different versions of this header.
 *       options (vmbus_dev_opts, vmbus_chan_attach_opts): NULL means every
 *         default.  A smaller struct (an older header) works: the fields it
 *         lacks take their defaults.  A larger one (a newer header) works
 *         when the fields this library does not know are all zero;
 *         otherwise, and when sz is below sizeof(size_t), the call fails
 *         with -EINVAL (and a message where it has an error buffer).
 *       outputs (vmbus_dev_info, vmbus_chan_stats): the call fills the
 *         fields that fit in your sz, leaves sz alone and zeroes the fields
 *         of a larger struct it does not know; -EINVAL if sz is below
 *         sizeof(size_t).
 *     Declare them with an initializer, e.g.
 *         struct vmbus_dev_opts o = { .sz = sizeof(o), .root = dir };
 *     so that every byte you do not set is zero.  Per-packet structs
 *     (vmbus_pkt, vmbus_gpa_buf, vmbus_xfer_range) have a fixed layout:
 *     what they need later comes with new calls.
 */
#ifndef VMBUS_VMBUS_H
#define VMBUS_VMBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>

#include <vmbus/wire.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VMBUS_VERSION_MAJOR 0
#define VMBUS_VERSION_MINOR 2
#define VMBUS_VERSION_PATCH 0

/* The library's version as "major.minor.patch". */
const char *vmbus_version(void);

/* ======================================================================== */
/* GUIDs                                                                     */
/* ======================================================================== */

/* Length of a GUID's text form without braces, plus the terminating NUL. */
#define VMBUS_GUID_STRLEN 37

/*
 * Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", with or without surrounding
 * braces, in either case, with an optional trailing newline.
 * Returns 0, or -EINVAL if @text is not a GUID.
 */
int vmbus_guid_parse(const char *text, struct vmbus_guid *out);

/* Writes the lowercase text form (no braces) of @g into @buf. */
void vmbus_guid_format(const struct vmbus_guid *g, char buf[VMBUS_GUID_STRLEN]);

bool vmbus_guid_equal(const struct vmbus_guid *a, const struct vmbus_guid *b);

/* A short name for a device class ("network", "scsi", ...), or NULL. */
const char *vmbus_class_name(const struct vmbus_guid *class_id);

/* ======================================================================== */
/* Rings                                                                     */
/* ======================================================================== */

/*
 * One direction of a VMBus channel: a header page followed by the data
 * area.  A ring object is used either as a writer or as a reader.  The ring
 * rules are symmetric, so the same code serves the guest and a host
 * simulator.
 *
 * Writing is two-phase: vmbus_ring_write() queues records that the reader
 * cannot see yet; vmbus_ring_write_commit() publishes all of them with one
 * index update and decides, once, whether the reader must be signalled.
 * Reading is likewise: vmbus_ring_peek() copies the next packet out and
 * validates it, vmbus_ring_consume() steps past it, and
 * vmbus_ring_read_commit() publishes the new read index and decides whether
 * a blocked writer must be signalled.
 */
struct vmbus_ring;

/*
 * Attaches to one ring direction at @mem: @hdr_size bytes of header (the
 * system page size for rings made by the kernel) followed by the data area,
 * @size bytes in all.  The data area must be a non-zero multiple of 8 bytes.
 * The indices already in the header are taken over (checked: -EPROTO).
 */
int vmbus_ring_attach(void *mem, size_t size, size_t hdr_size, struct vmbus_ring **out);
void vmbus_ring_detach(struct vmbus_ring *ring);

/*
 * Resets a ring header the way the opener of a channel does: both indices
 * 0, pending_send_sz 0, feature_bits = VMBUS_RING_FEAT_PENDING_SEND_SZ.
 * The interrupt mask is left alone.  Only for code playing the opener's
 * role (the host simulator, tests): never on a ring that is in use.
 */
void vmbus_ring_hdr_init(struct vmbus_ring_hdr *hdr);

/* Size of the data area in bytes. */
uint32_t vmbus_ring_data_size(const struct vmbus_ring *ring);

/* The shared header (for dumps and tests). */
struct vmbus_ring_hdr *vmbus_ring_hdr(struct vmbus_ring *ring);

/*
 * Largest packet (descriptor + payload, padded) one record may carry: the
 * data area less the trailer and the 8 bytes that must always stay free,
 * and never more than the descriptor's 16-bit len8 can express.
 */
uint32_t vmbus_ring_max_packet(const struct vmbus_ring *ring);

/* --- writer --- */

/*
 * Queues one record: the bytes of @iov (the packet, starting with its
 * descriptor), zero padding up to a multiple of 8, and the trailer.  The
 * record is not visible to the reader until vmbus_ring_write_commit().
 * Space is checked strictly: a record of T bytes (padding and trailer
 * included) is accepted only if more than T bytes are free, so the ring
 * never becomes completely full.
 * Returns 0, -EAGAIN (no room now), -EMSGSIZE (would never fit),
 * -EPROTO (the reader's index is corrupt).
 */
int vmbus_ring_write(struct vmbus_ring *ring, const struct iovec *iov, unsigned int iovcnt);

/*
 * Publishes every queued record with one update of write_index.  Returns 1
 * if the reader must be signalled (its interrupt mask is clear and the ring
 * was empty before this batch), 0 if not (or nothing was queued), or
 * -EPROTO.
 */
int vmbus_ring_write_commit(struct vmbus_ring *ring);

/* Drops the records queued since the last commit. */
void vmbus_ring_write_abort(struct vmbus_ring *ring);

/* Bytes the writer could still use (after what is queued). */
int64_t vmbus_ring_writable(struct vmbus_ring *ring);

/*
 * Whether more than @bytes are free after what is queued: 1 or 0, or
 * -EPROTO.  Reads the reader's index only when the one seen last does not
 * show enough (the reader only ever frees space), so it is cheap to ask
 * before every packet.
 */
int vmbus_ring_has_room(struct vmbus_ring *ring, uint32_t bytes);

/*
 * Tells the reader that the writer is blocked until @bytes are free after
 * what it has queued (the pending_send_sz protocol; records queued but not
 * published count too, since the reader cannot see them), then checks
 * again.  Returns 1 if the space is already there (pending_send_sz is
 * cleared again), 0 if the writer should wait for a signal, or -EPROTO.
 * @bytes = 0 clears the request.
 */
int vmbus_ring_write_wait(struct vmbus_ring *ring, uint32_t bytes);

/* --- reader --- */

/*
 * Copies the next packet (len8 * 8 bytes, descriptor first) into @buf and
 * validates it: indices in range and 8-aligned, offset8 >= 2,
 * offset8 <= len8, len8 * 8 + 8 <= bytes available.  The copy's descriptor
 * is the one that was checked, even if the host changes the ring meanwhile.
 * Does not advance.
 * Returns the packet length, -EAGAIN (empty), -ENOBUFS (@buflen too small;
 * *need, if not NULL, receives the length), -EPROTO (corrupt: the ring is
 * now broken).
 */
int vmbus_ring_peek(struct vmbus_ring *ring, void *buf, size_t buflen, uint32_t *need);

/* Steps past the packet returned by the last peek.  -EINVAL if none. */
int vmbus_ring_consume(struct vmbus_ring *ring);

/*
 * Copies up to @len bytes of the packet after the peeked one, descriptor
 * first, if it was already seen whole (the writer's index is not read
 * again).  Nothing is checked beyond its length fitting what was seen, and
 * the bytes may still change: a hint, such as which lines to ask for
 * before the packet is read.  Returns the bytes copied, -EAGAIN (no such
 * packet seen), -EINVAL (nothing peeked) or -EPROTO.
 */
int vmbus_ring_peek_next(struct vmbus_ring *ring, void *buf, size_t len);

/*
 * Publishes the read index.  Returns 1 if the writer must be signalled
 * (the feature bit is set and the freed space has just crossed the
 * writer's pending_send_sz), 0 if not, or -EPROTO.
 */
int vmbus_ring_read_commit(struct vmbus_ring *ring);

/* Bytes of unread records (after what was consumed). */
int64_t vmbus_ring_readable(struct vmbus_ring *ring);

/*
 * Interrupt masking, for the reader: vmbus_ring_arm() clears the mask,
 * issues a full barrier and checks the ring again.  Returns 0 when armed
 * and empty (safe to sleep), 1 if data arrived meanwhile (drain it first),
 * or -EPROTO.  Publish consumed packets (vmbus_ring_read_commit) before
 * arming, or the writer will think the ring is not empty and not signal.
 */
int vmbus_ring_arm(struct vmbus_ring *ring);
void vmbus_ring_disarm(struct vmbus_ring *ring);

/* Whether the ring was found corrupt, and why (NULL if not). */
const char *vmbus_ring_broken(const struct vmbus_ring *ring);

/* ======================================================================== */
/* Channels                                                                  */
/* ======================================================================== */

struct vmbus_device;
struct vmbus_chan;

/* Flags for the send functions. */
#define VMBUS_SEND_COMPLETION VMBUS_PKT_FLAG_COMPLETION_REQUESTED
/* More packets follow: queue this one, publish and signal later. */
#define VMBUS_SEND_MORE 0x100u

/* One GPA-direct range: @len bytes from @offset in the first of the pages. */
struct vmbus_gpa_buf {
	uint32_t len;
	uint32_t offset; /* < VMBUS_HV_PAGE_SIZE */
	const uint64_t *pfn; /* ceil((offset + len) / 4096) Hyper-V page numbers */
};

/*
 * A received packet.  Every pointer points into a private copy (the
 * caller's buffer, or the channel's buffer for peek) and stays valid until
 * the next receive call on the channel.
 */
struct vmbus_pkt {
	uint16_t type; /* enum vmbus_pkt_type */
	uint16_t flags;
	uint64_t tid;
	const void *data; /* payload: from offset8 * 8 to len8 * 8 */
	uint32_t len; /* payload bytes (padded to 8) */
	const void *raw; /* the whole packet, descriptor first */
	uint32_t raw_len; /* len8 * 8 */
	/* VMBUS_PKT_DATA_XFER_PAGES only (else 0 / NULL): */
	uint16_t xfer_pageset_id;
	uint32_t xfer_range_cnt;
	const struct vmbus_xfer_range *xfer_ranges; /* each within the limit */
	/* VMBUS_PKT_DATA_GPA_DIRECT only: ranges, walk with vmbus_gpa_iter */
	uint32_t gpa_range_cnt;
	const void *gpa_ranges;
};

/* Walks the ranges of a GPA-direct packet (already validated at receive). */
struct vmbus_gpa_iter {
	const uint8_t *pos;
	const uint8_t *end;
	uint32_t left;
};
void vmbus_gpa_iter_init(struct vmbus_gpa_iter *it, const struct vmbus_pkt *pkt);
/* 1 and *out filled, or 0 at the end. */
int vmbus_gpa_iter_next(struct vmbus_gpa_iter *it, struct vmbus_gpa_buf *out);

struct vmbus_chan_stats {
	size_t sz; /* set by the caller: sizeof(struct vmbus_chan_stats) */
	uint64_t tx_packets;
	uint64_t tx_bytes; /* payload bytes */
	uint64_t tx_ring_full; /* sends refused with -EAGAIN */
	uint64_t tx_signals; /* host signalled after a send */
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t rx_signals; /* host signalled after a read (pending_send_sz) */
	uint64_t rx_errors; /* corrupt packets or indices */
	uint64_t wakeups; /* interrupt waits that returned an event */
};
#define vmbus_chan_stats__last wakeups

/*
 * A channel over two ring directions that the caller owns (no device): for
 * tests, benchmarks and a host simulator, which attaches with the rings
 * swapped.  @signal, if set, is called when the peer must be signalled.
 */
struct vmbus_chan_attach_opts {
	size_t sz; /* sizeof(struct vmbus_chan_attach_opts) */
	void *tx; /* our outgoing ring: header + data */
	size_t tx_size;
	void *rx; /* our incoming ring */
	size_t rx_size;
	size_t hdr_size; /* header bytes of each direction */
	uint32_t relid;
	uint64_t xfer_limit; /* bound for transfer-page ranges; 0: refuse them */
	int (*signal)(struct vmbus_chan *chan, void *arg);
	void *signal_arg;
};
#define vmbus_chan_attach_opts__last signal_arg
int vmbus_chan_attach(const struct vmbus_chan_attach_opts *opts, struct vmbus_chan **out);
/* Frees a channel made by vmbus_chan_attach (device channels are freed by
 * vmbus_dev_close). */
void vmbus_chan_detach(struct vmbus_chan *chan);

uint32_t vmbus_chan_relid(const struct vmbus_chan *chan);
/* 0 for the primary channel. */
uint16_t vmbus_chan_subchan_id(const struct vmbus_chan *chan);
/* VMBUS_MONITOR_ID_NONE if the channel is not monitored. */
uint8_t vmbus_chan_monitor_id(const struct vmbus_chan *chan);
struct vmbus_device *vmbus_chan_device(const struct vmbus_chan *chan);
struct vmbus_ring *vmbus_chan_tx_ring(struct vmbus_chan *chan);
struct vmbus_ring *vmbus_chan_rx_ring(struct vmbus_chan *chan);

/*
 * A fresh transaction id: never 0 (the host does not complete requests
 * with id 0) and never one of the reserved values near UINT64_MAX.
 */
uint64_t vmbus_chan_next_tid(struct vmbus_chan *chan);

/*
 * Sends an in-band packet (VMBUS_PKT_DATA_INBAND) carrying @len bytes.
 * @flags: VMBUS_SEND_COMPLETION (then @tid must not be 0) and/or
 * VMBUS_SEND_MORE.  Without VMBUS_SEND_MORE the packet and any queued
 * before it are published and the host is signalled if the ring rules say
 * so.  A send that fails publishes what was queued before it.
 * Returns 0, -EAGAIN (ring full; nothing of this packet was written),
 * -EMSGSIZE, -EINVAL, -ENODEV, -EPROTO.
 */
int vmbus_chan_send(struct vmbus_chan *chan, unsigned int flags, uint64_t tid, const void *data,
		    size_t len);

/* The same, gathering the payload from @iovcnt pieces. */
int vmbus_chan_sendv(struct vmbus_chan *chan, unsigned int flags, uint64_t tid,
		     const struct iovec *iov, unsigned int iovcnt);

/* Sends a packet of any @type with a plain 16-byte descriptor. */
int vmbus_chan_send_type(struct vmbus_chan *chan, uint16_t type, unsigned int flags, uint64_t tid,
			 const struct iovec *iov, unsigned int iovcnt);

/* Sends a completion (VMBUS_PKT_COMPLETION) for transaction @tid. */
int vmbus_chan_send_completion(struct vmbus_chan *chan, unsigned int flags, uint64_t tid,
			       const void *data, size_t len);

/*
 * Sends a GPA-direct packet: the host reads @nbufs buffers straight from
 * guest memory by page number, and @iov inline.  The page numbers come
 * from the caller (see vmbus_dma_* for memory that has them).
 */
int vmbus_chan_send_gpa(struct vmbus_chan *chan, unsigned int flags, uint64_t tid,
			const struct vmbus_gpa_buf *bufs, unsigned int nbufs,
			const struct iovec *iov, unsigned int iovcnt);

/*
 * Sends a transfer-page packet (what a host sends for network receive):
 * @nranges ranges of the transfer page set @pageset_id, and @iov inline.
 * Its transaction id is the sender's own numbering and may be 0.
 */
int vmbus_chan_send_xfer(struct vmbus_chan *chan, unsigned int flags, uint64_t tid,
			 uint16_t pageset_id, const struct vmbus_xfer_range *ranges,
			 unsigned int nranges, const struct iovec *iov, unsigned int iovcnt);

/* Publishes queued packets and signals the host if needed. */
int vmbus_chan_flush(struct vmbus_chan *chan);

/*
 * Receives the next packet into @buf (one copy, then validated), and steps
 * past it.  The read index is published at once.  @buf must be 8-byte
 * aligned (the views in @pkt point into it).  Returns the payload length,
 * -EAGAIN (empty), -ENOBUFS (@buf too small: pkt->raw_len holds the needed
 * size and the packet stays in the ring), -EINVAL (@buf not aligned),
 * -ENODEV, -EPROTO.
 */
int vmbus_chan_recv(struct vmbus_chan *chan, void *buf, size_t buflen, struct vmbus_pkt *pkt);

/*
 * Zero-extra-copy receive: peek copies the next packet into the channel's
 * own buffer and describes it in @pkt; consume steps past it.  Consumed
 * space is handed back to the host by vmbus_chan_recv_commit(), or
 * automatically when peek finds the ring empty.
 */
int vmbus_chan_peek(struct vmbus_chan *chan, struct vmbus_pkt *pkt);
int vmbus_chan_consume(struct vmbus_chan *chan);
int vmbus_chan_recv_commit(struct vmbus_chan *chan);

/* 1 if there is nothing to read, 0 if there is, or a negative error. */
int vmbus_chan_rx_empty(struct vmbus_chan *chan);

/*
 * Signals the host for this channel.  A monitored channel sets its
 * monitor trigger bit and interrupt page bit and touches nothing else.  A
 * channel without a monitor id can only be signalled by writing 1 to the
 * UIO fd, and the UIO driver's answer to that write is device-wide: it
 * clears every channel's interrupt_mask and signals every unmonitored
 * channel of the device.  Callers that keep some channels masked while
 * polling should re-mask them after signalling an unmonitored channel.
 */
int vmbus_chan_signal(struct vmbus_chan *chan);

/*
 * Waits until the channel has something to read, with the interrupt
 * protocol userspace owns: drain check, clear the mask, full barrier,
 * check again, then sleep on the device's interrupt fd.  Returns 0 when
 * data is there, -ETIMEDOUT, -ENODEV (rescinded), -EPROTO.
 * @timeout_ms < 0 waits forever.
 */
int vmbus_chan_wait(struct vmbus_chan *chan, int timeout_ms);

/*
 * The channel's own interrupt listener as a pollable file descriptor
 * (opened on first use), for a thread that waits on the channel and on
 * other descriptors at once: when vmbus_chan_wait(chan, 0) returns
 * -ETIMEDOUT the interrupt is armed; poll this descriptor for POLLIN with
 * the others, and when it fires call vmbus_chan_wait(chan, 0) again, which
 * takes the event and looks at the ring.  A rescind makes it readable too.
 * The channel owns it: never read or close it.  Returns the descriptor,
 * -ENODEV, -ENOTSUP (a channel made by vmbus_chan_attach has no device),
 * or another negative errno.
 */
int vmbus_chan_fd(struct vmbus_chan *chan);

/* Sets the interrupt mask of the incoming ring: the host stops signalling. */
void vmbus_chan_mask(struct vmbus_chan *chan);

/* Fills *out (out->sz set by the caller).  Returns 0 or -EINVAL. */
int vmbus_chan_stats(const struct vmbus_chan *chan, struct vmbus_chan_stats *out);

/* Whether the channel is broken by corrupt host data, and why. */
const char *vmbus_chan_broken(const struct vmbus_chan *chan);

/* Prints indices, masks, features and the next packet header of both rings. */
void vmbus_chan_dump(FILE *f, struct vmbus_chan *chan);

/* ======================================================================== */
/* Devices                                                                   */
/* ======================================================================== */

struct vmbus_dev_opts {
	size_t sz; /* sizeof(struct vmbus_dev_opts) */
	/*
	 * Root prefix: "" for a real guest (/sys, /dev), or the directory of
	 * a simulated VMBus.  NULL: $VMBUS_ROOT if set, else "".
	 */
	const char *root;
	/* On failure, receives a message naming the device and the cause. */
	char *errbuf;
	size_t errbuf_len;
};
#define vmbus_dev_opts__last errbuf_len

/*
 * Opens the device with instance GUID @guid: reads its sysfs attributes,
 * checks the UIO maps, maps them and connects the primary channel.
 * Errors (each with a message in opts->errbuf):
 *   -EINVAL   @guid is not a GUID, or @opts breaks the size rule
 *   -ENOENT   no such device under <root>/sys/bus/vmbus/devices
 *   -ENXIO    the device is not bound to a UIO driver
 *   -ENOTSUP  the UIO maps are not the VMBus ones (names or count)
 *   -ERANGE   a map is too small for what it must hold
 *   -EBADMSG  a sysfs file is missing, truncated or unparsable
 *   -EACCES   permission denied (usually: not root)
 *   -EBUSY    another opener holds the device: a device has one user at a
 *             time (on a real guest an exclusive flock() on /dev/uioN,
 *             which every libvmbus opener takes; the message names the
 *             holding process where /proc/locks shows it)
 *   -EPROTO   a simulated host answered outside its protocol (a status it
 *             may not send, memory that is not a sealed memfd)
 *   -ENODEV   the device was rescinded while opening
 *   -ENOMEM, or another errno from the system
 */
int vmbus_dev_open(const char *guid, const struct vmbus_dev_opts *opts, struct vmbus_device **out);

/* Unmaps and frees everything, also after a rescind. */
void vmbus_dev_close(struct vmbus_device *dev);

struct vmbus_dev_info {
	size_t sz; /* set by the caller: sizeof(struct vmbus_dev_info) */
	struct vmbus_guid device_id;
	struct vmbus_guid class_id;
	uint32_t relid; /* primary channel */
	uint8_t monitor_id; /* VMBUS_MONITOR_ID_NONE if not monitored */
	unsigned int uio_index; /* N of /dev/uioN */
	bool simulated; /* /dev/uioN is a vmbus-hostsim socket */
	char uio_name[64]; /* the UIO driver's name */
	char uio_version[32];
	unsigned int nmaps; /* 3, or 5 with receive and send buffers */
	size_t ring_size; /* one direction of the primary channel, header included */
	void *recv_buf; /* map 3, or NULL */
	size_t recv_size;
	uint32_t recv_gpadl;
	void *send_buf; /* map 4, or NULL */
	size_t send_size;
	uint32_t send_gpadl;
};
#define vmbus_dev_info__last send_gpadl

/* Fills *out (out->sz set by the caller).  Returns 0 or -EINVAL. */
int vmbus_dev_info(const struct vmbus_device *dev, struct vmbus_dev_info *out);

/* The last error's message on this device ("" if none). */
const char *vmbus_dev_strerror(const struct vmbus_device *dev);

/* The primary channel (subchannel id 0). */
struct vmbus_chan *vmbus_dev_primary(struct vmbus_device *dev);

/* Number of open channels, the primary included. */
unsigned int vmbus_dev_nchans(const struct vmbus_device *dev);

/* Channel with subchannel id @idx (0 = primary), or NULL. */
struct vmbus_chan *vmbus_dev_chan(struct vmbus_device *dev, unsigned int idx);

/*
 * Waits until @count subchannels (besides the primary) have a ring the
 * driver opened, and opens them.  The host offers subchannels
 * asynchronously after the device protocol asked for them.  Returns 0,
 * -ETIMEDOUT (those found are open, see vmbus_dev_nchans), -ENODEV, or
 * another error with a message in vmbus_dev_strerror.
 */
int vmbus_dev_open_subchans(struct vmbus_device *dev, unsigned int count, int timeout_ms);

/* The UIO fd: pollable, readable when the host signals any channel. */
int vmbus_dev_fd(const struct vmbus_device *dev);

/*
 * Waits for an interrupt of any channel of the device.  Returns the event
 * count (> 0), -ETIMEDOUT, -ENODEV (rescinded).  @timeout_ms < 0 waits
 * forever, 0 only checks.
 */
int vmbus_dev_wait(struct vmbus_device *dev, int timeout_ms);

/*
 * Writes the UIO irqcontrol value: true = unmask every channel's incoming
 * ring and signal the host for channels without a monitor id, false =
 * mask them.
 */
int vmbus_dev_irq_enable(struct vmbus_device *dev, bool enable);

/*
 * Checks, without blocking, whether the host rescinded the device.
 * Returns 1 if rescinded (from then on the device is dead), 0 if not.
 */
int vmbus_dev_check(struct vmbus_device *dev);

/* Whether a rescind has been seen. */
bool vmbus_dev_rescinded(const struct vmbus_device *dev);

/* ======================================================================== */
/* Memory the host reads directly                                            */
/* ======================================================================== */

/*
 * GPA-direct packets (e.g. frames larger than a send section) name guest
 * memory by 4 KiB Hyper-V page number, so that memory must stay where it
 * is and its page numbers must be known.  A real guest gets pinned
 * hugepages and their page numbers from /proc/self/pagemap (root and
 * reserved hugepages needed: /proc/sys/vm/nr_hugepages); a simulated
 * VMBus gets memory shared with vmbus-hostsim, whose page numbers are
 * offsets into it.  Callers never compute page numbers themselves.
 */
struct vmbus_dma;

/*
 * Allocates at least @size bytes (rounded up to whole pages) for @dev.
 * Errors: -ENOMEM (no hugepages reserved, with a message in
 * vmbus_dev_strerror), -EPERM (page numbers unreadable: not root),
 * -ENODEV, or another errno.
 */
int vmbus_dma_alloc(struct vmbus_device *dev, size_t size, struct vmbus_dma **out);
void vmbus_dma_free(struct vmbus_dma *dma);
void *vmbus_dma_addr(const struct vmbus_dma *dma);
size_t vmbus_dma_size(const struct vmbus_dma *dma);

/*
 * Describes [@addr, @addr + @len) inside @dma as one GPA-direct range:
 * fills @buf and up to @max_pfns page numbers into @pfns (buf->pfn points
 * there).  Returns the number of page numbers, -ERANGE if the bytes are
 * not inside @dma, -ENOSPC if @max_pfns is too small, -EINVAL for len 0.
 */
int vmbus_dma_gpa(const struct vmbus_dma *dma, const void *addr, size_t len,
		  struct vmbus_gpa_buf *buf, uint64_t *pfns, unsigned int max_pfns);

/* ======================================================================== */
/* Looking at the bus without opening anything                               */
/* ======================================================================== */

/*
 * What a listing or a debugging tool needs: every device on the bus, what
 * it is, which driver holds it, its channels and the state of their rings,
 * all read from sysfs (and, for rings, from a read-only mapping of the
 * channel's ring file).  Nothing here opens /dev/uioN, writes a sysfs file
 * or changes a ring: a device in use stays undisturbed.
 *
 * The option and output structs here follow the size rule of the
 * Conventions above.
 */

struct vmbus_scan_opts {
	size_t sz;
	/* Root prefix, as in struct vmbus_dev_opts (NULL: $VMBUS_ROOT, else ""). */
	const char *root;
	/* On failure, receives a message naming the device, the file and the cause. */
	char *errbuf;
	size_t errbuf_len;
};
#define vmbus_scan_opts__last errbuf_len

/*
 * Lists the devices under <root>/sys/bus/vmbus/devices in the order of
 * their primary channel's relid (devices whose relid cannot be read come
 * last).  Fills at most @max entries of @ids (which may be NULL when @max
 * is 0) and returns how many devices there are, which may be more than
 * @max.  Errors: -ENOENT (no VMBus under the root), -EACCES, -EINVAL,
 * -ENOMEM.
 */
int vmbus_scan(const struct vmbus_scan_opts *opts, struct vmbus_guid *ids, size_t max);

/* Longest driver or interface name kept in the structs below, with the NUL. */
#define VMBUS_NAME_MAX 64

/*
 * A long name for a device class ("Synthetic network adapter"), for every
 * class GUID Linux knows (include/linux/hyperv.h), or NULL.
 */
const char *vmbus_class_desc(const struct vmbus_guid *class_id);

/*
 * The Linux driver that takes devices of this class when nothing else is
 * asked for ("hv_netvsc", "hv_storvsc", "hv_utils", ...), or NULL if
 * Linux has none.
 */
const char *vmbus_class_driver(const struct vmbus_guid *class_id);

/* What sysfs tells about one device. */
struct vmbus_dev_desc {
	size_t sz;
	struct vmbus_guid device_id;
	struct vmbus_guid class_id;
	char guid[VMBUS_GUID_STRLEN]; /* device_id as text */
	uint32_t relid; /* primary channel */
	uint8_t monitor_id; /* VMBUS_MONITOR_ID_NONE if not monitored */
	int numa_node; /* -1 if unknown */
	char driver[VMBUS_NAME_MAX]; /* the bound driver, "" if none */
	bool has_override; /* the kernel has driver_override for it */
	char driver_override[VMBUS_NAME_MAX]; /* "" if not set */
	int uio_index; /* N of /dev/uioN, -1 if not bound to a UIO driver */
	char ifname[VMBUS_NAME_MAX]; /* network interface (net/<name>), "" if none */
	unsigned int nchans; /* channels/ entries, the primary included */
};
#define vmbus_dev_desc__last nchans

/*
 * Describes the device with instance GUID @guid.  Errors: -EINVAL (not a
 * GUID, or a bad struct), -ENOENT (no such device), -EBADMSG (class_id,
 * device_id or id missing or unparsable), -EACCES.
 */
int vmbus_dev_describe(const char *guid, const struct vmbus_scan_opts *opts,
		       struct vmbus_dev_desc *out);

/*
 * The relids of the device's channels (channels/<relid>), ascending: fills
 * at most @max and returns how many there are, or a negative errno as
 * vmbus_dev_describe.
 */
int vmbus_dev_chans(const char *guid, const struct vmbus_scan_opts *opts, uint32_t *relids,
		    size_t max);

/*
 * What sysfs tells about one channel.  The kernel's names: "out" is the
 * guest-to-host ring, "in" the host-to-guest ring.  Values the kernel does
 * not show (older kernels, hidden attributes) are -1.
 */
struct vmbus_chan_desc {
	size_t sz;
	uint32_t relid;
	int subchan_id; /* 0 for the primary */
	uint8_t monitor_id; /* VMBUS_MONITOR_ID_NONE if not monitored */
	int cpu; /* the CPU the host interrupts */
	int64_t in_mask; /* interrupt_mask of the host-to-guest ring */
	int64_t out_mask; /* interrupt_mask of the guest-to-host ring */
	int64_t read_avail; /* bytes the guest has to read */
	int64_t write_avail; /* bytes the guest may still write */
	int64_t interrupts; /* host-to-guest interrupts */
	int64_t events; /* guest-to-host signals */
	bool has_ring; /* the ring file is there (a UIO driver holds the channel) */
	uint64_t ring_file_size; /* its size as stat() reports it */
};
#define vmbus_chan_desc__last ring_file_size

int vmbus_chan_describe(const char *guid, uint32_t relid, const struct vmbus_scan_opts *opts,
			struct vmbus_chan_desc *out);

/*
 * One ring direction as found in memory, for tools: every shared field is
 * read once, and nothing is trusted.  @problem says what is inconsistent
 * (an index out of range or unaligned, a packet descriptor that does not
 * fit), in which case the fill levels and the packet are what could be
 * worked out.
 */
struct vmbus_ring_state {
	size_t sz;
	uint32_t write_index;
	uint32_t read_index;
	uint32_t interrupt_mask;
	uint32_t pending_send_sz;
	uint32_t feature_bits;
	uint32_t data_size; /* bytes of the data area */
	uint32_t bytes_to_read; /* records between read_index and write_index */
	uint32_t bytes_to_write; /* free bytes (the writer may use all but 8) */
	const char *problem; /* NULL if the indices are consistent */
	bool has_packet; /* a descriptor is waiting at read_index */
	struct vmbus_pkt_desc next; /* its copy, as read */
	const char *packet_problem; /* NULL if the descriptor is valid */
};
#define vmbus_ring_state__last packet_problem

/*
 * Reads the ring direction at @mem (@hdr_size bytes of header, @size in
 * all) without writing to it.  Returns 0, -EPROTO when the ring is
 * inconsistent (@out filled as far as possible, out->problem or
 * out->packet_problem says why) or -EINVAL (sizes, or a bad struct).
 */
int vmbus_ring_inspect(const void *mem, size_t size, size_t hdr_size,
		       struct vmbus_ring_state *out);

/*
 * A read-only view of one channel's rings through its ring file
 * (channels/<relid>/ring), mapped with PROT_READ from a descriptor opened
 * O_RDONLY: the rings cannot be disturbed.  @relid 0 means the primary.
 * The ring's size is the UIO map's for the primary (kernels before 6.15
 * report a fixed size for the file) and the file's for subchannels.
 * Errors (with a message): -ENOENT (no such device or channel), -ENXIO (no
 * ring file: no UIO driver holds the channel), -ENODEV (the channel is not
 * open: the kernel maps a ring only while someone has /dev/uioN open),
 * -EACCES (ring files are root's), -EBADMSG (a size that cannot be a
 * ring), -EINVAL.
 */
struct vmbus_ring_view;
int vmbus_ring_view_open(const char *guid, uint32_t relid, const struct vmbus_scan_opts *opts,
			 struct vmbus_ring_view **out);

/* The relid the view shows and the size of one direction, header included. */
uint32_t vmbus_ring_view_relid(const struct vmbus_ring_view *view);
size_t vmbus_ring_view_size(const struct vmbus_ring_view *view);

/*
 * Snapshots both directions: @out_ring the guest-to-host ring (the first
 * half of the file), @in_ring the host-to-guest ring.  Either may be
 * NULL.  Returns 0, or -EPROTO if a direction is inconsistent (see
 * vmbus_ring_inspect), or -EINVAL.
 */
int vmbus_ring_view_read(const struct vmbus_ring_view *view, struct vmbus_ring_state *out_ring,
			 struct vmbus_ring_state *in_ring);
void vmbus_ring_view_close(struct vmbus_ring_view *view);

#ifdef __cplusplus
}
#endif

#endif /* VMBUS_VMBUS_H */
