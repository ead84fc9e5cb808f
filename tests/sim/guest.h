/* SPDX-License-Identifier: MIT */
/*
 * A scripted guest for the sim tests: NVSP and RNDIS by hand, with
 * libvmbus for the rings and proto.h for the messages (no netvsc-user
 * logic), checking what vmbus-hostsim answers.
 */
#ifndef TESTS_SIM_GUEST_H
#define TESTS_SIM_GUEST_H

#include "harness.h"

#define WAIT_MS 5000

struct guest {
	struct sim sim;
	struct vmbus_device *dev;
	struct vmbus_chan *c;
	struct vmbus_dev_info info;
	uint64_t tid;
	uint32_t rid;
	uint32_t slot_size;
	uint8_t mac[6]; /* the NIC's, once nic_up() asked */
	_Alignas(8) uint8_t buf[65536];
};

/* The guest a test has running, for guest_free() to free if it fails. */
extern struct guest *guest_live;

void guest_open(struct guest *g, int index);

/* Starts a simulator and opens its first device. */
struct guest *guest_new(const char *opt1, const char *opt2, const char *opt3);
void guest_close(struct guest *g);
int guest_free(void **state);

/* Sends an NVSP message padded to 40 bytes. */
void send_nvsp(struct guest *g, struct vmbus_chan *c, const void *msg, size_t len,
	       bool completion);

/* The next packet on @c, waiting up to WAIT_MS; returns the payload length. */
int recv_pkt(struct guest *g, struct vmbus_chan *c, struct vmbus_pkt *pkt);

/* Sends @msg and returns the completion the host answers with. */
void request(struct guest *g, const void *msg, size_t len, struct vmbus_pkt *pkt);
uint32_t nvsp_init(struct guest *g, uint32_t version);

/* INIT 6.1, NDIS config and version, both buffers: a ready NVSP session. */
void nvsp_attach(struct guest *g, uint32_t mtu);

/* Puts an RNDIS message in send section @section and sends it. */
void send_rndis(struct guest *g, struct vmbus_chan *c, uint32_t type, uint32_t section,
		const void *msg, uint32_t len);

/* Waits for the host's RNDIS_PKT_COMPLETE with @status on @c. */
void expect_rndis_complete(struct guest *g, struct vmbus_chan *c, uint32_t status);

/* Completes a receive transaction. */
void complete_rx(struct guest *g, struct vmbus_chan *c, uint64_t tid);

/*
 * Receives a control reply: a transfer-page packet in a control slot
 * (transaction id < 16) whose one range holds exactly the RNDIS message.
 * Copies it to @out, completes the slot, returns its length.
 */
uint32_t recv_control(struct guest *g, void *out, size_t cap);
void rndis_init(struct guest *g);

/* QUERY @oid; the value goes to @val, returns the status. */
uint32_t rndis_query(struct guest *g, uint32_t oid, void *val, uint32_t *len);
uint32_t rndis_set(struct guest *g, uint32_t oid, const void *val, uint32_t vlen);
void guest_learn_mac(struct guest *g);

/* A ready NIC: NVSP session, RNDIS initialized, filter on. */
void nic_up(struct guest *g, uint32_t mtu);

/*
 * A test frame from the NIC's own address (a virtual switch drops frames
 * with someone else's, and the echo sends it back to the source) to a
 * peer: ethertype 0x88b5, then @seq and a pattern.
 */
size_t make_frame(const struct guest *g, uint8_t *f, size_t len, uint32_t seq);

/* Sends one frame as an RNDIS data packet in send section @section. */
void send_frame(struct guest *g, struct vmbus_chan *c, uint32_t section, const uint8_t *f,
		uint32_t len);

/* Receives one data transfer-page packet; checks its slots; copies frames. */
unsigned int recv_frames(struct guest *g, struct vmbus_chan *c, uint8_t frames[][2048],
			 uint32_t *lens, unsigned int max);

#endif /* TESTS_SIM_GUEST_H */
