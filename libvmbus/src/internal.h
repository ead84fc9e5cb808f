/* SPDX-License-Identifier: MIT */
/*
 * Private state of libvmbus.  Nothing outside libvmbus/src includes this.
 */
#ifndef VMBUS_INTERNAL_H
#define VMBUS_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <vmbus/vmbus.h>

#define VMBUS_API __attribute__((visibility("default")))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN8(x) (((x) + 7u) & ~(uint64_t)7u)

/*
 * Shared-memory accessors.  Every index the peer can see goes through one
 * of these, so the ordering each access needs is named where it happens.
 *
 * ring_load_acquire: reading the peer's index.  Pairs with the peer's
 *   release store, so the records (or the free space) the index covers are
 *   visible before we touch them.
 * ring_store_release: publishing our index.  Our copies into (or out of)
 *   the data area are complete before the peer can see the new index.
 * ring_full_barrier: store-load ordering for the signalling handshakes
 *   (our index or mask store must be visible before we read the peer's
 *   mask, index or pending_send_sz); the Linux kernel uses virt_mb() at the
 *   same places.
 */
static inline uint32_t ring_load_acquire(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline uint32_t ring_load_relaxed(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void ring_store_release(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline void ring_store_relaxed(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline void ring_full_barrier(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

struct vmbus_ring {
	struct vmbus_ring_hdr *hdr;
	uint8_t *data;
	uint32_t dsize;
	uint32_t max_pkt; /* largest packet a record may carry */

	/* writer: next queued position, last published, last seen read_index */
	uint32_t wr_next;
	uint32_t wr_pub;
	uint32_t wr_seen_rd;

	/* reader: next unread position, last published, last seen write_index */
	uint32_t rd_next;
	uint32_t rd_pub;
	uint32_t rd_seen_wr;
	uint32_t peek_len; /* record length of the peeked packet, 0: none */

	const char *broken;
};

/* How the channel signals its peer. */
typedef int (*vmbus_signal_fn)(struct vmbus_chan *chan, void *arg);

struct vmbus_chan {
	struct vmbus_device *dev; /* NULL for attached channels */
	struct vmbus_ring *tx;
	struct vmbus_ring *rx;
	uint32_t relid;
	uint16_t subchan_id;
	uint8_t monitor_id;
	uint64_t xfer_limit;
	vmbus_signal_fn signal;
	void *signal_arg;

	/* mapping that backs the rings (device channels) */
	void *map;
	size_t map_size;
	bool own_map;

	uint8_t *pkt_buf; /* private copy for peek */
	uint32_t pkt_buf_size;
	bool peeked;
	uint32_t peek_bytes; /* payload of the peeked packet */

	uint64_t next_tid;
	int irq_fd; /* this channel's own listener on the UIO device, or -1 */
	struct vmbus_chan_stats stats;
	const char *broken;
};

/* chan.c */
int vmbus_chan_create(struct vmbus_chan **out, void *tx, size_t tx_size, void *rx, size_t rx_size,
		      size_t hdr_size);
void vmbus_chan_free(struct vmbus_chan *chan);

/* device.c: what chan.c needs from the device */
bool vmbus_dev_is_gone(const struct vmbus_device *dev);
int vmbus_dev_chan_listen(struct vmbus_device *dev, struct vmbus_chan *chan);
void vmbus_dev_close_fd(struct vmbus_device *dev, int fd);
int vmbus_dev_chan_wait(struct vmbus_device *dev, struct vmbus_chan *chan, int timeout_ms);

/* device.c: for dma.c */
struct uio_dev;
struct uio_dev *vmbus_dev_uio(struct vmbus_device *dev);
int vmbus_dev_fail(struct vmbus_device *dev, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* util.c */
int vmbus_read_file(const char *path, char *buf, size_t len);
int vmbus_parse_u64(const char *s, int base, uint64_t *out);
int vmbus_parse_name_u32(const char *s, uint32_t *out);
int vmbus_mkpath(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* VMBUS_INTERNAL_H */
