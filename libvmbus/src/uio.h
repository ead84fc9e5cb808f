/* SPDX-License-Identifier: MIT */
/*
 * The UIO device behind a VMBus device: its sysfs description, its maps
 * and its interrupt fd.  Two transports with one set of semantics:
 *   real       /dev/uioN is the UIO character device; map K is mmapped at
 *              offset K * page size;
 *   simulated  /dev/uioN is a SOCK_SEQPACKET socket served by
 *              vmbus-hostsim (the protocol is vmbus/sim.h).  On connect
 *              the host answers with a 4-byte open status (0 or one of a
 *              known set of -errno values, like open() of the real
 *              device), then sends 4-byte event counts; 4-byte messages
 *              from us are irqcontrol writes; the host closing the socket
 *              is a rescind.  Maps come as sealed memfds over the socket.
 * Either way a device has one user at a time: the real device node is
 * flock()ed by its opener, the simulated host refuses other processes.
 */
#ifndef VMBUS_UIO_H
#define VMBUS_UIO_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UIO_MAX_MAPS 5u

struct uio_map {
	char name[64];
	size_t size; /* from sysfs */
	void *addr;
	size_t map_len; /* what was mmapped (size rounded up to a page) */
};

struct uio_dev {
	unsigned int index;
	char name[64];
	char version[32];
	unsigned int nmaps;
	struct uio_map maps[UIO_MAX_MAPS];
	bool simulated;
	int fd;
	unsigned int listen_seq; /* simulated: names of listener sockets */
	char path[PATH_MAX]; /* the device node */
	/* where error messages go, and the device they are about */
	char *err;
	size_t errlen;
	const char *who;
};

int uio_read_sysfs(struct uio_dev *u, const char *root, unsigned int index);
int uio_open(struct uio_dev *u, const char *root);
int uio_map_all(struct uio_dev *u, const char *root, size_t page_size);
void uio_close(struct uio_dev *u);
/* Closes one handle; on a simulated device, waits for the host to see it. */
void uio_close_fd(bool simulated, int fd);

/* Opens another listener on the same device (its own event count). */
int uio_listen(struct uio_dev *u, int *fd);
/*
 * Simulated devices: the sealed memfd behind channel @relid's ring, and its
 * size (checked: sealed against shrinking and holding that many bytes).  -ENOENT if
 * the channel has no open ring yet.
 */
int uio_sim_ring(struct uio_dev *u, uint32_t relid, int *fd, uint64_t *size);
/* Waits for an event on @fd: count > 0, -ETIMEDOUT, -ENODEV (rescinded). */
int uio_wait(struct uio_dev *u, int fd, int timeout_ms);
/* The 4-byte irqcontrol write: 0, -ENODEV, or another error. */
int uio_irqcontrol(struct uio_dev *u, int fd, int32_t value);
/* Non-blocking check for the error/hang-up a rescind leaves on @fd. */
bool uio_hung_up(struct uio_dev *u, int fd);

#endif /* VMBUS_UIO_H */
