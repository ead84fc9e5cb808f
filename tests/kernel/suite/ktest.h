/* SPDX-License-Identifier: MIT */
/*
 * ktest.h - helpers for the kernel suite: small programs that run as root
 * in the test guest, play the host through /dev/vmbus_sim and drive a UIO
 * driver (uio_hv_generic or hv_uio) through sysfs, /dev/uioN and libvmbus.
 *
 * Every test program takes --driver NAME and --module FILE, exits 0 when
 * it passes, 1 when a check fails, 77 when it does not apply.  A failed
 * check ends the program; cleanup then rescinds everything the test
 * offered (the host's close does it) and removes the dynamic ids it added.
 *
 * Where the drivers' documented behaviour differs, the test asks
 * kt_drv->... and says so with kt_diff(), then checks the driver's own
 * behaviour.
 */
#ifndef KTEST_H
#define KTEST_H

#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vmbus/wire.h>

#include "vmbus_sim.h"

/* GUIDs used by the suite (text form, as sysfs shows them without braces). */
#define KT_CLASS_NIC "f8615163-df3e-46c5-913f-f2d2f965ed0e"
#define KT_CLASS_FCOPY "34d14be3-dee4-41c8-9ae7-6b174977c192"
/* a class no kernel knows: HV_UNKNOWN */
#define KT_CLASS_OTHER "6b0f3a9e-8a2c-4c51-9e3f-5d1c7a2b4e90"

/* Waits on the host or the guest end after this long: the guest is emulated. */
#define KT_TIMEOUT_MS 20000

/*
 * How a UIO driver behaves where drivers differ.  uio_hv_generic is
 * Debian's (6.1 with its stable backports); hv_uio is ours (kmod-hv/),
 * whose README states where it goes beyond uio_hv_generic.
 */
struct kt_driver {
	const char *name;
	/* refuses channels without a monitor id: probe fails with ENOTSUPP */
	bool needs_monitor;
	/* receive and send buffer maps for every class (else NIC only) */
	bool bufs_all_classes;
	/* write(1) signals the host for channels without a monitor id */
	bool irq_write_signals;
	/* subchannels are opened again when /dev/uioN is opened again */
	bool reopens_subchannels;
	/* the ring file's size is 2 x 512 pages whatever the ring's size */
	bool ring_file_fixed_size;
	/* unbinding while /dev/uioN is open closes the channel */
	bool closes_on_unbind;
	/* creates the primary's ring file in probe, before hv_vmbus added the
	 * channel's kobject when the device binds while it registers */
	bool ring_file_in_probe;
	/* a device rescinded while open keeps its ring pages (never freed) */
	bool leaks_ring_on_rescind;
	/* subchannels open when the device is rescinded are never freed */
	bool leaks_subchannels_on_rescind;
	/* opens the subchannels offered before /dev/uioN was opened */
	bool opens_early_subchannels;
	/* write() touches the ring of every subchannel, open or not: with a
	 * subchannel that is not open it dereferences NULL (Oops) */
	bool irq_write_oopses_on_closed_subchannel;
	/* a subchannel closed with the device keeps its ring file (whose mmap
	 * then fails with ENODEV); else the file goes with the open channel */
	bool closed_subchannel_keeps_ring_file;
	/* a subchannel's ring is freed at close while a process still maps
	 * its ring file: the mapping then reaches freed pages */
	bool frees_mapped_subchannel_ring;
	/* write(1) signals every open channel without a monitor id (else the
	 * primary only) */
	bool irq_write_signals_subchannels;
	/* module parameters for ring and buffer sizes */
	bool has_size_params;
	/* refuses private (MAP_PRIVATE) mappings of its maps and ring files */
	bool refuses_private_maps;
	/* frees a buffer whose GPADL teardown failed (the host keeps using it) */
	bool frees_buffer_after_failed_teardown;
	/* after a close the host never got, the device cannot be opened again
	 * (the host may still use its ring) until it is bound again */
	bool refuses_open_after_failed_close;
	/* remove() leaves the channel's rescind callback set: a later rescind,
	 * with another driver bound, calls into this one with that driver's
	 * data (an oops) */
	bool leaves_rescind_callback;
};

extern const struct kt_driver *kt_drv;
extern const char *kt_module_path;
extern long kt_page_size;

/* ---- test flow ---- */

void kt_init(int argc, char **argv, const char *what);
__attribute__((noreturn)) void kt_pass(void);
__attribute__((noreturn)) void kt_skip(const char *why);
__attribute__((noreturn, format(printf, 4, 5))) void kt_fail_at(const char *file, int line,
								const char *cond,
								const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void kt_note(const char *fmt, ...);
/* States an expected difference of the driver under test. */
__attribute__((format(printf, 1, 2))) void kt_diff(const char *fmt, ...);

/* KT_ASSERT(condition, "what was being checked", args...) */
#define KT_ASSERT(cond, ...)                                                                       \
	do {                                                                                       \
		if (!(cond))                                                                       \
			kt_fail_at(__FILE__, __LINE__, #cond, __VA_ARGS__);                        \
	} while (0)

/* ---- the host (/dev/vmbus_sim) ---- */

int kt_host_fd(void);
/* Closes the host's end, for a test that runs another host (vmbus-hostsim). */
void kt_host_release(void);
/* Offers a channel; returns the relid (fails the test on error). */
uint32_t kt_offer(const char *class_id, const char *instance, uint8_t monitor_id,
		  uint16_t sub_index, uint32_t flags);
/* The same, returning -errno instead of failing. */
int kt_try_offer(const char *class_id, const char *instance, uint8_t monitor_id,
		 uint16_t sub_index, uint32_t flags, struct vmbus_sim_offer *out);
void kt_rescind(uint32_t relid);
/* 1 if a driver callback ran, 0 if none was set. */
int kt_signal(uint32_t relid);
int kt_chan_info(uint32_t relid, struct vmbus_sim_chan_info *ci);
void kt_set_mode(uint32_t mode);
/*
 * Waits until the driver has opened channel @relid (a subchannel offered
 * while the device is open is opened right after its offer, by hv_uio
 * from a work item); true if it is open.
 */
bool kt_wait_opened(uint32_t relid);
/* Arms fault VMBUS_SIM_FAULT_@what on @relid (fails the test on error). */
void kt_fault(uint32_t relid, uint32_t what);
/* The hv_vmbus generation the stand-in plays (VMBUS_SIM_GEN_*). */
uint32_t kt_gen(void);
/* Channels the guest still holds, GPADLs the host knows. */
unsigned int kt_nr_channels(void);
unsigned int kt_nr_gpadls(void);

/*
 * Host events.  Every event read is kept in order; kt_ev_wait() returns
 * (and consumes) the first unconsumed one of @type for @relid (0: any),
 * reading more as needed, -ETIMEDOUT if none comes in time.
 */
int kt_ev_wait(uint32_t type, uint32_t relid, int timeout_ms, struct vmbus_sim_event *out);
/* True if no such event is queued now (reads what is there, never waits). */
bool kt_ev_none(uint32_t type, uint32_t relid);
/*
 * True if no signal by event (the driver's vmbus_setevent) for @relid (0:
 * any) is queued now.  Signals through the monitor page are left out: the
 * host's scan of the page reports them whenever it runs, so one may still
 * come for a packet the host has long read.
 */
bool kt_ev_none_by_event(uint32_t relid);
/* Consumes everything queued now. */
void kt_ev_flush(void);

/* Maps GPADL @handle (@size bytes) or a connection page; fails the test on error. */
void *kt_host_map_gpadl(uint32_t handle, size_t size);
void *kt_host_map_page(unsigned int pgoff);

/*
 * The host's end of an open channel, with libvmbus's ring code: attached to
 * the guest's rings (swapped) as named by the channel's OPEN event, which
 * kt_host_attach() consumes.  The host signals the guest through
 * VMBUS_SIM_IOC_SIGNAL.
 */
struct vmbus_chan;
struct vmbus_pkt;
struct kt_host_chan {
	struct vmbus_chan *c;
	uint32_t relid;
	void *map;
	size_t size;
};
void kt_host_attach(struct kt_host_chan *hc, uint32_t relid);
void kt_host_detach(struct kt_host_chan *hc);
/*
 * One packet from the guest on @g to the host's end @hc and one back, each
 * carrying "relid R packet @n" and checked on arrival.
 */
#define kt_ping(g, hc, n) kt_ping_at(__FILE__, __LINE__, g, hc, n)
void kt_ping_at(const char *file, int line, struct vmbus_chan *g, struct kt_host_chan *hc,
		int n);
/* The next packet, waiting for the guest's signal while the ring is empty. */
int kt_host_recv(struct kt_host_chan *hc, void *buf, size_t len, struct vmbus_pkt *pkt);
/* The guest's side: the next packet, waiting with vmbus_chan_wait(). */
int kt_guest_recv(struct vmbus_chan *c, void *buf, size_t len, struct vmbus_pkt *pkt);

/* ---- sysfs and devices ---- */

/* A fresh instance GUID, unique within the boot. */
void kt_new_instance(char out[37]);
int kt_read(const char *path, char *buf, size_t len); /* bytes or -errno; strips '\n' */
__attribute__((format(printf, 3, 4))) int kt_readf(char *buf, size_t len, const char *fmt, ...);
int kt_write(const char *path, const char *s); /* 0 or -errno */
__attribute__((format(printf, 2, 3))) int kt_writef(const char *s, const char *fmt, ...);
__attribute__((format(printf, 1, 2))) bool kt_exists(const char *fmt, ...);
/* Waits up to @timeout_ms for a path to exist; true if it does. */
__attribute__((format(printf, 2, 3))) bool kt_wait_exists(int timeout_ms, const char *fmt, ...);
/* Reads a decimal or 0x-prefixed number from sysfs; fails the test if it cannot. */
__attribute__((format(printf, 1, 2))) uint64_t kt_read_u64(const char *fmt, ...);

/* Dynamic ids of the driver under test (removed again at exit). */
int kt_new_id(const char *class_id);
int kt_remove_id(const char *class_id);
int kt_bind(const char *guid);
int kt_unbind(const char *guid);
/* NULL clears it. */
int kt_override(const char *guid, const char *driver);
/* driver_override to the driver under test and bind; fails the test on error. */
#define kt_bind_driver(guid) kt_bind_driver_at(__FILE__, __LINE__, guid)
void kt_bind_driver_at(const char *file, int line, const char *guid);
/*
 * A fresh device of @class_id (its primary monitored) in @guid, bound to the
 * driver under test; returns the primary's relid.  Fails the test on error.
 */
#define kt_offer_bound(class_id, guid) kt_offer_bound_at(__FILE__, __LINE__, class_id, guid)
uint32_t kt_offer_bound_at(const char *file, int line, const char *class_id, char guid[37]);
/* The driver @guid is bound to, "" if none. */
const char *kt_bound(const char *guid);
/* N of uioN under the device, -1 if none. */
int kt_uio_index(const char *guid);
/* Opens /dev/uioN of the device; fails the test if it cannot. */
int kt_uio_open(const char *guid);
/* Opens the device with libvmbus (real root); fails the test with its message. */
struct vmbus_device;
#define kt_dev_open(guid) kt_dev_open_at(__FILE__, __LINE__, guid)
struct vmbus_device *kt_dev_open_at(const char *file, int line, const char *guid);

/* /proc/meminfo field in kB. */
long kt_meminfo(const char *field);

/* ---- vmbus-hostsim and netvsc-user in the guest ---- */

#define KT_HOSTSIM "/bin/vmbus-hostsim"
#define KT_NETVSC_USER "/bin/netvsc-user"
/* where vmbus-hostsim keeps its control socket in the guest */
#define KT_HOSTSIM_ROOT "/tmp/hostsim"

/*
 * Makes vmbus-hostsim the host: releases /dev/vmbus_sim, starts it on its
 * kernel transport offering network adapter @guid (and the options in
 * @argv, NULL-terminated, may be NULL), waits until the guest has the
 * device and binds it to the driver under test.  Skips the test if the
 * program is not in the guest.
 */
void kt_hostsim_start(const char *guid, const char *const *argv);
/* The same up to the device's registration: no driver is bound by the test
 * (one whose id table matches, such as hv_netvsc, has probed it). */
void kt_hostsim_launch(const char *guid, const char *const *argv);
/* The first entry of directory @path not starting with a dot (into @out,
 * @outlen bytes, if not NULL; longer names are passed over). */
bool kt_dir_first(const char *path, char *out, size_t outlen);
/* Starts @argv (argv[0] a path) with its stdout (and stderr if asked) to
 * a pipe whose read end goes to *@out; returns its pid. */
pid_t kt_spawn(const char *const *argv, int *out, bool with_stderr);
/* Runs "vmbus-hostsim ctl COMMAND ARGS..." (NULL-terminated); its exit status. */
int kt_hostsim_ctl(const char *cmd, ...) __attribute__((sentinel));
/* The same, with its output (up to @len - 1 bytes) in @out. */
int kt_hostsim_ctl_out(char *out, size_t len, const char *cmd, ...) __attribute__((sentinel));
/* Stops it; fails the test unless it exits 0. */
void kt_hostsim_stop(void);
/* Runs @argv (NULL-terminated) and returns its exit status (-1 if killed). */
int kt_run(const char *const *argv);

/* ---- Linux's hv_netvsc and the guest's network (knet.c) ---- */

#define KT_NETVSC_KO "/lib/modules/hv_netvsc.ko"

/*
 * Loads Debian's hv_netvsc (symbol versions rewritten for the stand-in,
 * test only) unless it is loaded; unloaded again at exit.  Skips the test
 * where the module is not in the guest or the stand-in plays another
 * generation than 6.1, whose structures hv_netvsc was built for.
 */
void kt_netvsc_load(void);
int kt_netvsc_unload(void); /* 0 or -errno */
bool kt_netvsc_loaded(void);
/* The interface hv_netvsc created for device @guid (its net/ entry). */
bool kt_nic_ifname(const char *guid, char out[IFNAMSIZ]);
/* A new instance offered by vmbus-hostsim (@sim_args), which hv_netvsc
 * binds: its GUID and interface name.  Returns the kmsg descriptor opened
 * before the offer (kt_kmsg_open). */
int kt_netvsc_instance(char guid[37], const char *const *sim_args, char ifn[IFNAMSIZ]);
/*
 * Waits until @cond(@arg) holds, woken by rtnetlink link and address
 * events (and once a second for changes that send none); true if it does
 * within @timeout_ms.
 */
bool kt_net_wait(bool (*cond)(void *arg), void *arg, int timeout_ms);
bool kt_wait_ifname(const char *guid, char out[IFNAMSIZ], int timeout_ms);
bool kt_wait_no_ifname(const char *guid, int timeout_ms);
/* /sys/class/net/IF/carrier: 1, 0 or -errno (EINVAL while the interface is down). */
int kt_if_carrier(const char *ifname);
bool kt_wait_carrier(const char *ifname, bool up, int timeout_ms);
/* ethtool -l / -L / -S through SIOCETHTOOL; 0 or -errno */
int kt_ethtool_channels(const char *ifname, unsigned int *combined, unsigned int *max);
int kt_ethtool_set_channels(const char *ifname, unsigned int combined);
int kt_ethtool_stat(const char *ifname, const char *name, uint64_t *value);
/* A legacy on/off setting (ETHTOOL_GTSO, ETHTOOL_GTXCSUM ...): 1, 0 or -errno. */
int kt_ethtool_flag(const char *ifname, uint32_t cmd);
/* Runs a shell command line (busybox); its exit status. */
__attribute__((format(printf, 1, 2))) int kt_sh(const char *fmt, ...);
/*
 * A peer: a process in a network namespace of its own, with lo up and a
 * TCP server echoing every connection on @port; killed at exit.
 */
pid_t kt_peer_start(uint16_t port);
/* Runs a shell command line in the peer's network namespace. */
__attribute__((format(printf, 1, 2))) int kt_peer_sh(const char *fmt, ...);
/* Moves @ifname into the peer's namespace, gives it @cidr (and @mtu unless 0), up. */
void kt_peer_take(const char *ifname, const char *cidr, unsigned int mtu);
/*
 * A TCP connection to the peer's echo server at @addr:@port (IPv4 or
 * IPv6): @bytes of a
 * pattern particular to stream @id sent, echoed and checked byte for byte.
 * 0, or -errno (-EBADMSG: a byte came back wrong).
 */
int kt_tcp_echo(const char *addr, uint16_t port, unsigned int id, size_t bytes);

/* ---- kernel log ---- */

/* Writes a line into the kernel log (ordered with the kernel's messages). */
__attribute__((format(printf, 1, 2))) void kt_kmsg(const char *fmt, ...);
/* Opens /dev/kmsg positioned at its end. */
int kt_kmsg_open(void);
/* True if a record read from @fd since (up to now) contains @needle. */
bool kt_kmsg_find(int fd, const char *needle);
/* How many records read from @fd since (up to now) contain @needle. */
int kt_kmsg_count(int fd, const char *needle);
/*
 * Records read from @fd since that contain @needle and have level error or
 * worse; each is printed.
 */
int kt_kmsg_errors(int fd, const char *needle);

/* ---- the driver module ---- */

int kt_module_unload(void); /* 0 or -errno (EBUSY, EWOULDBLOCK) */
int kt_module_load(void);   /* 0 or -errno (EEXIST if loaded) */
/* The same with module parameters ("name=value name=value"). */
int kt_module_load_params(const char *params);

/* ---- memory ---- */

/* The page frame behind @addr in this process; false if none is mapped. */
bool kt_pfn(const void *addr, uint64_t *pfn);
/* /proc/kpageflags (KPF_* bits) and /proc/kpagecount (mappings) of a frame */
uint64_t kt_kpageflags(uint64_t pfn);
uint64_t kt_kpagecount(uint64_t pfn);
#define KT_KPF_BUDDY (1ULL << 10) /* free in the page allocator */
/* Reads a byte: 0, or -EFAULT if the access raised SIGBUS (-EINVAL: SIGSEGV). */
int kt_probe_read(const volatile void *addr, uint8_t *out);

/* ---- threads ---- */

/*
 * A thread in read() on /dev/uioN.  kt_reader_start() returns once the
 * thread sleeps in read() on @fd; kt_reader_join() waits for the read to
 * end: @n, @err (its errno) and @count hold the outcome.
 */
struct kt_reader {
	int fd;
	pid_t tid;
	ssize_t n;
	int err;
	uint32_t count;
	pthread_t thread;
};
void kt_reader_start(struct kt_reader *r, int fd);
void kt_reader_join(struct kt_reader *r);

/* Waits until another thread has made *@v at least @want; true if it did. */
bool kt_wait_until_u32(const unsigned int *v, unsigned int want, int timeout_ms);
/* Waits until thread @tid sleeps in syscall @nr (e.g. SYS_read; -1: any). */
bool kt_wait_blocked(pid_t tid, long nr, int timeout_ms);

#endif /* KTEST_H */
