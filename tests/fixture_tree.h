/* SPDX-License-Identifier: MIT */
/*
 * Test fixtures: a VMBus device tree under a temporary root, laid out as a
 * given kernel lays it out, and a minimal host behind the simulated
 * /dev/uioN socket (open status, event counts, irqcontrol values, rescind).
 * The code is in fixture_tree.c, compiled once into the tests' helper
 * library.
 */
#ifndef TESTS_FIXTURE_TREE_H
#define TESTS_FIXTURE_TREE_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define FX_MAX_MAPS 5

struct fx_map {
	const char *name;
	const char *size; /* as sysfs prints it */
	size_t backing; /* bytes of the backing file; 0: none */
};

struct fx_device {
	const char *guid;
	const char *class_id; /* file contents, NULL: no file */
	const char *device_id;
	const char *id;
	const char *monitor_id;
	bool bound; /* uio/uio0 below the device */
	const char *driver; /* name the driver link points to, or NULL */
	const char *uio_name;
	const char *uio_version;
	unsigned int nmaps;
	struct fx_map maps[FX_MAX_MAPS];
};

#define FX_NIC_GUID "9a1d5c3e-4b2f-4e6a-8c7d-0e1f2a3b4c5d"
#define FX_NIC_CLASS "{f8615163-df3e-46c5-913f-f2d2f965ed0e}"
#define FX_FCOPY_GUID "eb765408-105f-49b6-b4aa-c123b64d17d4"
#define FX_FCOPY_CLASS "{34d14be3-dee4-41c8-9ae7-6b174977c192}"

#define FX_RING_4M 0x400000u
#define FX_RECV_31M 0x1f00000u
#define FX_SEND_16M 0x1000000u

/* A NIC as uio_hv_generic on Debian's 6.1 shows it: five maps, 2 MiB rings. */
struct fx_device fx_nic_6_1(void);

/* The same NIC on 6.16: HV_HYP_PAGE_SIZE int/monitor maps, VMBUS_RING_SIZE rings. */
struct fx_device fx_nic_6_16(void);

/* A non-network device on 6.16: fcopy, three maps, 20 KiB rings, no monitor. */
struct fx_device fx_fcopy_6_16(void);
void fx_die(const char *what);
void fx_path(char *buf, size_t len, const char *fmt, ...);
void fx_mkdirs(const char *path);
void fx_write(const char *path, const char *text);
void fx_file_sized(const char *path, size_t size);

/* Writes @d under @root as uio0. */
void fx_build(const char *root, const struct fx_device *d);

/* Adds channels/<relid>/ of a subchannel with a ring of @ring_size bytes. */
void fx_add_subchannel(const char *root, const char *guid, unsigned int relid,
		       unsigned int subchan_id, const char *monitor_id,
		       size_t ring_size);

/* Creates a fresh temporary root. */
char *fx_root(void);
void fx_rm_rf(const char *root);

/* ------------------------------------------------------------------------ */
/* A minimal host behind ROOT/dev/uio0                                       */
/* ------------------------------------------------------------------------ */

#define FX_MAX_CLIENTS 16

/* How the fixture host answers map requests (vmbus/sim.h). */
enum fx_map_mode {
	FX_MAP_SEALED, /* a memfd sealed as a host must (the default) */
	FX_MAP_UNSEALED, /* a memfd without seals: a host that could truncate it */
	FX_MAP_FILE, /* the fd of a plain file */
	FX_MAP_NO_FD, /* status 0 but nothing attached */
	FX_MAP_BAD_STATUS, /* a status outside the protocol's set */
};

struct fx_host {
	char root[PATH_MAX];
	enum fx_map_mode map_mode;
	int map_fd[FX_MAX_MAPS]; /* the memfds behind dev/uio0.mapK, or -1 */
	int ring_fd[64]; /* subchannel rings served so far, by relid % 64 */
	int listen_fd;
	int clients[FX_MAX_CLIENTS];
	int nclients;
	int32_t open_status;
	int32_t irq_values[64];
	int nirq;
	uint32_t events;
	bool stop;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int wake[2]; /* wakes the thread for stop */
};

/*
 * Serves ROOT/dev/uio0: the maps whose backing files fx_build made become
 * memfds (sealed unless @map_mode says otherwise), and the files links to
 * them, so a test still reaches the memory by path; so do the ring files
 * of subchannels when the guest asks for them.
 */
struct fx_host *fx_host_start(const char *root, int32_t open_status);
struct fx_host *fx_host_start_maps(const char *root, int32_t open_status,
				   enum fx_map_mode map_mode);
void fx_host_kick(struct fx_host *h);

/* Sends event count ++events to every connected listener. */
void fx_host_event(struct fx_host *h);

/* Waits until @n irqcontrol values arrived (or 5 s); returns how many. */
int fx_host_wait_irq(struct fx_host *h, int n);
int fx_host_nclients(struct fx_host *h);

/* The host pulls the device: every listener is hung up, nobody can connect. */
void fx_host_rescind(struct fx_host *h);
void fx_host_stop(struct fx_host *h);

#endif /* TESTS_FIXTURE_TREE_H */
