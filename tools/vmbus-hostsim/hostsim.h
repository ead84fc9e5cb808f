/* SPDX-License-Identifier: MIT */
/*
 * vmbus-hostsim: plays the Hyper-V host (and the guest kernel's part of a
 * UIO driver) so that libvmbus and netvsc-user run unchanged anywhere.
 *
 * Shape: one bus of devices, each with channels (a primary and optional
 * subchannels).  A transport makes devices visible to the guest and moves
 * signals both ways; the ring engine drains what the guest writes and
 * hands packets to the device's service (NetVSP for network adapters).
 * Everything runs in one thread around an epoll loop.
 *
 * Facts the behaviour follows: Linux uio_hv_generic and UIO core (what the
 * guest sees of the kernel), OpenVMM's vmbus_ring/netvsp and QEMU's vmbus
 * (what a host does).  Where they differ the code says which one it
 * follows.
 */
#ifndef HOSTSIM_H
#define HOSTSIM_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <vmbus/vmbus.h>

#define HS_MAX_DEVS 32
#define HS_MAX_CHANS 64 /* primary + 63 subchannels, as NVSP allows */
#define HS_MAX_CONNS 256
#define HS_MAX_REGIONS 16
#define HS_MAX_GONE 64
/* After this many empty monitor scans (100 ms at the default latency) the
 * scan slows down tenfold until the guest signals again. */
#define HS_IDLE_SCANS 1000

struct hs_bus;
struct hs_dev;
struct hs_chan;
struct hs_transport;

/* ------------------------------------------------------------------------ */
/* logging                                                                   */
/* ------------------------------------------------------------------------ */

/* > 0: hs_debug logs too; < 0: not even hs_log (a fuzzer's host). */
extern int hs_verbose;
void hs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hs_debug_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Costs one test when -v is off: it sits on per-packet paths. */
#define hs_debug(...)                                                                              \
	do {                                                                                       \
		if (hs_verbose > 0)                                                                \
			hs_debug_log(__VA_ARGS__);                                                 \
	} while (0)

/* ------------------------------------------------------------------------ */
/* event loop                                                                */
/* ------------------------------------------------------------------------ */

struct hs_watch {
	int fd;
	void (*cb)(struct hs_watch *w, uint32_t events);
	void *arg;
};

int hs_watch_add(struct hs_bus *bus, struct hs_watch *w, uint32_t events);
void hs_watch_del(struct hs_bus *bus, struct hs_watch *w);
/* Changes the events @w waits for. */
int hs_watch_mod(struct hs_bus *bus, struct hs_watch *w, uint32_t events);
uint64_t hs_now_ns(void);

/* ------------------------------------------------------------------------ */
/* transports                                                                */
/* ------------------------------------------------------------------------ */

/*
 * How devices reach the guest.  The file-and-socket transport builds the
 * simulated tree of DESIGN.md; a kernel transport (a test module's
 * character device) can implement the same operations.
 */
struct hs_transport_ops {
	const char *name;
	/* The host also plays the guest kernel's part (resets ring headers at
	 * open, serves the UIO device); false when a real guest kernel does. */
	bool plays_kernel;
	/* Makes @dev visible; allocates its primary ring and, for network
	 * devices, its receive and send buffers (dev->ring_mem ...). */
	int (*offer)(struct hs_transport *t, struct hs_dev *dev);
	/* Makes a subchannel visible.  Sets ch->ring_mem if its ring is open at
	 * once; otherwise the transport calls hs_chan_ready() when it is. */
	int (*offer_chan)(struct hs_transport *t, struct hs_chan *ch);
	/* Removes a subchannel and unmaps its ring. */
	void (*rescind_chan)(struct hs_transport *t, struct hs_chan *ch);
	/* Removes @dev: every guest handle hangs up, the tree disappears.
	 * Its subchannels are already gone. */
	void (*rescind)(struct hs_transport *t, struct hs_dev *dev);
	/* Interrupts the guest on behalf of @ch. */
	int (*signal)(struct hs_transport *t, struct hs_chan *ch);
	/* Copies @len bytes at Hyper-V page @pfn, offset @off (within the
	 * page) of guest memory to @buf, or from it when @write: as a host
	 * reads and writes any page the guest names.  Returns 0, or -errno
	 * for a page it cannot reach (logged at -v with the reason). */
	int (*guest_copy)(struct hs_transport *t, struct hs_dev *dev, uint64_t pfn, uint32_t off,
			  void *buf, uint32_t len, bool write);
	/*
	 * Whether @handle is a buffer GPADL of @dev that the guest created but
	 * the host has not heard of yet (NULL: the host hears of GPADLs before
	 * the guest can name them).  Hyper-V answers a GPADL before the guest
	 * may use it; a host learning of it from an event stream can see a
	 * message naming it first, and then waits: the transport kicks the
	 * device's first channel once it knows the GPADL.
	 */
	bool (*gpadl_pending)(struct hs_transport *t, struct hs_dev *dev, uint32_t handle);
	/* Refreshes the live attributes (masks, available bytes, events). */
	void (*update_attrs)(struct hs_transport *t, struct hs_dev *dev);
	/* Runs @fn for @dev, surviving memory the guest revokes meanwhile
	 * (NULL: just run it). */
	int (*guard)(struct hs_transport *t, struct hs_dev *dev, void (*fn)(struct hs_dev *dev));
	void (*destroy)(struct hs_transport *t);
};

struct hs_transport {
	const struct hs_transport_ops *ops;
	struct hs_bus *bus;
};

int hs_sim_transport_create(struct hs_bus *bus, const char *root, struct hs_transport **out);

/* A guest process's own memory by page number (peer_mem.c; needs root). */
struct hs_peer_mem;
int hs_peer_mem_open(pid_t pid, struct hs_peer_mem **out);
void hs_peer_mem_close(struct hs_peer_mem *pm);
pid_t hs_peer_mem_pid(const struct hs_peer_mem *pm);
/* Copies within one page; on failure *why says why. */
int hs_peer_mem_copy(struct hs_peer_mem *pm, uint64_t pfn, uint32_t off, void *buf, uint32_t len,
		     bool write, const char **why);
int hs_kern_transport_create(struct hs_bus *bus, const char *path, struct hs_transport **out);

/* What a transport reports to the bus. */
void hs_dev_opened(struct hs_dev *dev); /* first guest handle: connect the primary */
void hs_dev_closed(struct hs_dev *dev); /* last handle gone: disconnect */
void hs_dev_irqcontrol(struct hs_dev *dev, int32_t value);

/* A channel's ring memory is there (ring_mem, ring_size, g2h_size): open it. */
void hs_chan_ready(struct hs_chan *ch);
void hs_chan_closed(struct hs_chan *ch);
/* The guest signalled @ch (transports that see signals as events). */
void hs_chan_signalled(struct hs_chan *ch);
/* The transport assigns relid and monitor id (kernel transport). */
void hs_chan_set_ids(struct hs_chan *ch, uint32_t relid, uint8_t monitor_id);
struct hs_chan *hs_find_chan(struct hs_bus *bus, uint32_t relid);

/* ------------------------------------------------------------------------ */
/* bus, devices, channels                                                    */
/* ------------------------------------------------------------------------ */

/* What the host does when the guest breaks the protocol. */
enum hs_reaction {
	HS_REACT_STOP, /* stop serving the channel (OpenVMM today) */
	HS_REACT_FAIL, /* fail the packet and go on where that is possible */
};

struct hs_chan {
	struct hs_dev *dev;
	uint32_t relid;
	uint16_t subidx; /* 0: primary */
	uint8_t monitor_id; /* VMBUS_MONITOR_ID_NONE: not monitored */
	void *ring_mem; /* guest-to-host ring, then host-to-guest ring */
	size_t ring_size; /* both directions */
	size_t g2h_size; /* bytes of the guest-to-host ring; 0: half */
	struct vmbus_chan *vc; /* host view: tx = host-to-guest */
	bool open;
	bool stopped; /* the host gave up on this channel */
	bool kicked; /* work to do */
	bool tx_blocked; /* waiting for the guest to free host-to-guest space */
	uint64_t signals_in; /* guest signals seen */
	uint64_t signals_out; /* guest interrupts raised */
	void *priv; /* the device service's per-channel state */
};

struct hs_dev_ops {
	const char *name;
	/* Primary connected (guest opened the device) or disconnected. */
	void (*open)(struct hs_dev *dev);
	void (*close)(struct hs_dev *dev);
	/*
	 * One packet from the guest.  Returns 0 when handled (consumed),
	 * -EAGAIN to leave it in the ring and retry later (no room to answer),
	 * -EPROTO when the guest broke the protocol: the bus applies the
	 * reaction.
	 */
	int (*packet)(struct hs_chan *ch, const struct vmbus_pkt *pkt);
	/* Work that does not come from the ring (pending receives ...). */
	void (*poll)(struct hs_dev *dev);
	void (*stats)(struct hs_dev *dev, FILE *f);
	void (*free)(struct hs_dev *dev);
};

struct hs_dev {
	struct hs_bus *bus;
	struct vmbus_guid class_id;
	struct vmbus_guid instance;
	char guid[VMBUS_GUID_STRLEN];
	unsigned int uio_index;
	bool monitored;
	bool is_nic;
	/* Offered only, as to a guest whose kernel driver (this one) holds it:
	 * no UIO device, no service behind the channel. */
	const char *kernel_driver;
	struct hs_chan *chans[HS_MAX_CHANS];
	unsigned int nchans;
	bool connected; /* the primary is open */
	bool rescinded;
	size_t ring_size; /* one direction of every channel, header included */
	/* network devices: the GPADL'd buffers (maps 3 and 4) */
	void *recv_buf;
	size_t recv_size;
	uint32_t recv_gpadl;
	void *send_buf;
	size_t send_size;
	uint32_t send_gpadl;
	uint32_t events; /* interrupt count the guest sees */
	bool timed_work; /* the service waits for time to pass (delays, flaps) */
	const struct hs_dev_ops *ops;
	void *priv;
	void *tpriv; /* the transport's */
};

struct hs_opts {
	unsigned int nics;
	const char *wire; /* echo, sink, gen, tap:IF, pcap:FILE, switch */
	unsigned int mtu_max;
	unsigned int max_queues;
	bool monitored; /* offer channels with monitor ids */
	uint32_t latency_us; /* monitor page scan interval */
	enum hs_reaction reaction;
	uint64_t link_speed_bps;
	uint32_t link_flap_ms; /* hold back a link change this long after the last */
	size_t ring_size; /* per direction, header included */
	size_t recv_size;
	size_t send_size;
	bool busy_poll;
	bool azure_devices; /* also offer the other devices of an Azure guest */
	/* host variants a guest must survive */
	uint32_t rss_table; /* RSS indirection table entries: 128 or 256 */
	bool old_send_table; /* the send table as hosts up to NVSP 6 put it */
	uint32_t reply_delay_ms; /* RNDIS control replies wait this long */
	/* gen wire */
	uint32_t gen_size;
	uint64_t gen_count;
	uint64_t gen_rate; /* frames per second, 0: as fast as possible */
};

struct hs_bus {
	struct hs_opts opts;
	int epfd;
	struct hs_transport *tp;
	struct hs_dev *devs[HS_MAX_DEVS];
	unsigned int ndevs;
	/* the guest's interrupt and monitor pages (one per bus, as in a guest) */
	uint8_t *int_page;
	struct vmbus_monitor_page *monitor;
	struct hs_chan *by_monitor[VMBUS_MONITOR_ID_MAX + 1];
	uint32_t next_gpadl;
	bool stop;
	bool work; /* some channel was kicked */
	uint64_t timer_ns; /* the interval of the bus's tick */
	uint64_t next_tick_ns; /* when the loop runs the tick next */
	unsigned int quiet_scans; /* monitor scans in a row that found nothing */
	struct hs_wire *wire;
	uint64_t started_ns;
	/*
	 * Watches removed while the loop dispatches a batch of events: their
	 * later events in the batch are stale (the watch may be freed) and are
	 * skipped; past HS_MAX_GONE the rest of the batch waits for the next
	 * turn (epoll reports it again).
	 */
	bool dispatching;
	struct hs_watch *gone[HS_MAX_GONE];
	unsigned int ngone;
};

int hs_bus_init(struct hs_bus *bus, const struct hs_opts *opts);
void hs_bus_fini(struct hs_bus *bus);
int hs_bus_run(struct hs_bus *bus);
/* One turn of the loop without waiting: the events that are there, the
 * wire, the channels and devices.  For a program that drives a bus itself. */
void hs_bus_step(struct hs_bus *bus);

/* Offers a network adapter; @guid may be NULL for a fresh one. */
int hs_offer_nic(struct hs_bus *bus, const struct vmbus_guid *guid, struct hs_dev **out);
/*
 * Offers a device of any class.  With @kernel_driver, a guest kernel driver
 * holds it: the offer only, no UIO device, no service (offers.c); without,
 * it must be a network adapter.  @guid may be NULL.
 */
int hs_offer_dev(struct hs_bus *bus, const struct vmbus_guid *class_id,
		 const struct vmbus_guid *guid, const char *kernel_driver, bool monitored,
		 struct hs_dev **out);
extern const struct hs_dev_ops hs_offer_only_ops;
/* The devices besides network adapters that an Azure guest is offered. */
int hs_offer_azure_devices(struct hs_bus *bus);
void hs_rescind(struct hs_dev *dev);
/* Adds subchannel @subidx to @dev and offers it. */
int hs_offer_subchan(struct hs_dev *dev, uint16_t subidx, struct hs_chan **out);
struct hs_dev *hs_find_dev(struct hs_bus *bus, const char *guid);

/* Marks @ch as having work (a guest signal, or room that appeared). */
void hs_chan_kick(struct hs_chan *ch);
/* Gives up on @ch after a protocol violation. */
void hs_chan_stop(struct hs_chan *ch, const char *why);
/* Asks the guest to signal once @bytes are free in the host-to-guest ring.
 * Returns 1 if they already are. */
int hs_chan_wait_tx(struct hs_chan *ch, uint32_t bytes);

/* The signal callback the host channels use. */
int hs_chan_signal_guest(struct vmbus_chan *vc, void *arg);

/* ------------------------------------------------------------------------ */
/* NetVSP and wires                                                          */
/* ------------------------------------------------------------------------ */

extern const struct hs_dev_ops hs_netvsp_ops;
int hs_netvsp_create(struct hs_dev *dev);

/* A frame for the guest on @dev (0 queued, -ENOBUFS dropped). */
int hs_nic_rx(struct hs_dev *dev, const void *frame, size_t len);
/*
 * The same for a frame in two parts: @head (@hlen bytes, copied now) and
 * @tail (@tlen bytes, copied only into the guest's receive slot, so it
 * must stay as it is for the life of the process, e.g. a constant
 * pattern).  What the host inspects (addresses, headers) is copied now.
 */
int hs_nic_rx_ref(struct hs_dev *dev, const void *head, size_t hlen, const void *tail,
		  size_t tlen);
/* The same for a frame in two parts that are the caller's only until the
 * call returns (both are copied). */
int hs_nic_rx_parts(struct hs_dev *dev, const void *head, size_t hlen, const void *tail,
		    size_t tlen);
/* The NIC's MAC address. */
const uint8_t *hs_nic_mac(struct hs_dev *dev);
/* Host-side link state changes. */
void hs_nic_link(struct hs_dev *dev, bool up);
/* Frames waiting for the guest on @dev, and whether it can take more. */
bool hs_nic_rx_room(struct hs_dev *dev, unsigned int frames);
/* How many more frames @dev surely takes without loss, whatever queue
 * each goes to (UINT_MAX: it drops them anyway). */
unsigned int hs_nic_rx_space(struct hs_dev *dev);

/* Faults the control interface can inject into a NIC. */
enum hs_fault {
	HS_FAULT_NONE,
	HS_FAULT_RING_INDEX, /* corrupt the host-to-guest write index */
	HS_FAULT_BAD_DESC, /* a packet with offset8 > len8 */
	HS_FAULT_BAD_XFER_RANGE, /* a receive range beyond the buffer */
	HS_FAULT_TRUNCATED_RNDIS, /* a receive whose RNDIS message is cut short */
	HS_FAULT_DELAY_COMPLETIONS, /* hold transmit completions for a while */
	HS_FAULT_DROP_COMPLETIONS, /* never send transmit completions */
	HS_FAULT_RESCIND_TRAFFIC, /* rescind after the next N frames */
	HS_FAULT_WITHHOLD_SUBCHANNELS, /* grant subchannels, offer only the first N */
	HS_FAULT_RX_NO_COMPLETION_FLAG, /* receive packets that do not ask for completion */
};
int hs_fault_parse(const char *name, enum hs_fault *out);
const char *hs_fault_names(void);
int hs_nic_fault(struct hs_dev *dev, enum hs_fault f, uint64_t arg);

struct hs_wire;
struct hs_wire_ops {
	const char *name;
	int (*open)(struct hs_wire *w, const char *arg);
	/* A frame the guest sent on @dev.  Returns 0, or -EAGAIN when the
	 * wire cannot take it now (the NIC stops reading the guest's ring
	 * until hs_wire_ready()). */
	int (*tx)(struct hs_wire *w, struct hs_dev *dev, const void *frame, size_t len);
	/* Whether @frames more can be taken from @dev without loss (NULL:
	 * always).  A wire that answers frames (echo, switch) says no while
	 * the receiving side is full, so the guest's ring holds them. */
	bool (*room)(struct hs_wire *w, struct hs_dev *dev, unsigned int frames);
	/* Called from the loop: host-originated traffic. */
	void (*poll)(struct hs_wire *w);
	/* Whether poll() would send now (NULL: never without an event): asked
	 * after the loop's work, so the loop does not sleep while it would. */
	bool (*more)(struct hs_wire *w);
	void (*close)(struct hs_wire *w);
};

struct hs_wire {
	const struct hs_wire_ops *ops;
	struct hs_bus *bus;
	void *priv;
	uint64_t frames_out; /* frames the wire took from the guest */
	uint64_t frames_in; /* frames the wire made for the guest */
};

int hs_wire_open(struct hs_bus *bus, const char *spec, struct hs_wire **out);
void hs_wire_close(struct hs_wire *w);
const char *hs_wire_names(void);

/* ------------------------------------------------------------------------ */
/* control                                                                   */
/* ------------------------------------------------------------------------ */

int hs_ctl_listen(struct hs_bus *bus, const char *root);
void hs_ctl_close(struct hs_bus *bus);
/* The client side: sends @argv to a running vmbus-hostsim, prints the answer. */
int hs_ctl_client(const char *root, int argc, char **argv);

#endif /* HOSTSIM_H */
