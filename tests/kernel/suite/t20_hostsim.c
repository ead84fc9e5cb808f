/* SPDX-License-Identifier: MIT */
/*
 * vmbus-hostsim as the host of a real guest kernel: its kernel transport
 * offers a network adapter through /dev/vmbus_sim, the UIO driver under
 * test binds it, and a guest program speaks NVSP and RNDIS to it through
 * libvmbus: rings both ways, signals both ways (monitor page and the
 * driver's interrupt), and the receive and send buffers the driver shared
 * (the host learns their GPADLs from the driver, the guest from the map
 * names, and both must agree).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vmbus/vmbus.h>

#include <netvsc/proto.h>

#include "ktest.h"

struct guest {
	struct vmbus_device *dev;
	struct vmbus_chan *c;
	struct vmbus_dev_info info;
	uint64_t tid;
	uint8_t buf[8192];
};

static void send_nvsp(struct guest *g, const void *msg, size_t len, bool want_completion)
{
	uint8_t m[NVSP_MSG_SIZE] = { 0 };

	memcpy(m, msg, len);
	KT_ASSERT(vmbus_chan_send(g->c, want_completion ? VMBUS_SEND_COMPLETION : 0,
				  want_completion ? g->tid++ : 0, m, sizeof(m)) == 0,
		  "send NVSP message %u", *(const uint32_t *)msg);
}

static void expect(struct guest *g, struct vmbus_pkt *pkt, uint16_t type)
{
	int n = kt_guest_recv(g->c, g->buf, sizeof(g->buf), pkt);

	KT_ASSERT(n >= 0, "receive: %s", strerror(-n));
	KT_ASSERT(pkt->type == type, "packet type %u, expected %u", pkt->type, type);
}

int main(int argc, char **argv)
{
	struct nvsp_init init = { .type = NVSP_MSG_INIT, .ver_min = NVSP_VERSION_61,
				  .ver_max = NVSP_VERSION_61 };
	struct nvsp_ndis_config cfg = { .type = NVSP_MSG_NDIS_CONFIG, .mtu = 1514 };
	struct nvsp_ndis_ver ver = { .type = NVSP_MSG_NDIS_VER, .ndis_major = 6, .ndis_minor = 30 };
	struct nvsp_rxbuf_conn rx = { .type = NVSP_MSG_RXBUF_CONN, .id = NVSP_RXBUF_ID };
	struct nvsp_chim_conn tx = { .type = NVSP_MSG_CHIM_CONN, .id = NVSP_CHIM_ID };
	struct rndis_init_req ri = { .type = RNDIS_MSG_INIT, .len = sizeof(ri), .rid = 7,
				     .ver_major = 1, .max_xfer = 0x4000 };
	struct nvsp_rndis_pkt rp = { .type = NVSP_MSG_RNDIS_PKT,
				     .channel_type = NVSP_CHANNEL_CONTROL, .section_index = 0,
				     .section_size = sizeof(ri) };
	struct nvsp_init_comp ic;
	struct nvsp_rxbuf_conn_comp rc;
	struct nvsp_chim_conn_comp cc;
	struct nvsp_rndis_pkt_comp pc;
	struct rndis_init_cmplt icm;
	struct vmbus_pkt pkt;
	struct guest g = { .tid = 1 };
	char guid[37];
	int i;

	kt_init(argc, argv, "vmbus-hostsim serves NetVSP to the guest kernel");
	kt_new_instance(guid);
	kt_hostsim_start(guid, NULL);

	g.dev = kt_dev_open(guid);
	g.c = vmbus_dev_primary(g.dev);
	g.info.sz = sizeof(g.info);
	vmbus_dev_info(g.dev, &g.info);
	KT_ASSERT(g.info.nmaps == 5 && g.info.recv_buf && g.info.send_buf, "NIC buffers mapped");

	/* version: the host answers from its ring, the guest's interrupt wakes us */
	send_nvsp(&g, &init, sizeof(init), true);
	expect(&g, &pkt, VMBUS_PKT_COMPLETION);
	memcpy(&ic, pkt.data, sizeof(ic));
	KT_ASSERT(ic.type == NVSP_MSG_INIT_COMP && ic.status == NVSP_STATUS_SUCCESS,
		  "NVSP 6.1 accepted (status %u)", ic.status);
	send_nvsp(&g, &cfg, sizeof(cfg), false);
	send_nvsp(&g, &ver, sizeof(ver), false);

	/* the host found the buffers the driver shared under the same GPADLs */
	rx.gpadl = g.info.recv_gpadl;
	send_nvsp(&g, &rx, sizeof(rx), true);
	expect(&g, &pkt, VMBUS_PKT_COMPLETION);
	memcpy(&rc, pkt.data, sizeof(rc));
	KT_ASSERT(rc.status == NVSP_STATUS_SUCCESS && rc.num_sections == 1 &&
			  rc.sections[0].sub_alloc_size == 1806,
		  "receive buffer %u accepted (status %u)", rx.gpadl, rc.status);
	tx.gpadl = g.info.send_gpadl;
	send_nvsp(&g, &tx, sizeof(tx), true);
	expect(&g, &pkt, VMBUS_PKT_COMPLETION);
	memcpy(&cc, pkt.data, sizeof(cc));
	KT_ASSERT(cc.status == NVSP_STATUS_SUCCESS && cc.section_size == 6144,
		  "send buffer %u accepted (status %u)", tx.gpadl, cc.status);

	/* RNDIS through the send buffer, the answer in the receive buffer */
	memcpy(g.info.send_buf, &ri, sizeof(ri));
	send_nvsp(&g, &rp, sizeof(rp), true);
	expect(&g, &pkt, VMBUS_PKT_COMPLETION);
	memcpy(&pc, pkt.data, sizeof(pc));
	KT_ASSERT(pc.status == NVSP_STATUS_SUCCESS, "control packet completed");
	expect(&g, &pkt, VMBUS_PKT_DATA_XFER_PAGES);
	KT_ASSERT(pkt.xfer_range_cnt == 1 && pkt.xfer_ranges[0].byte_count == sizeof(icm),
		  "one control reply range");
	memcpy(&icm, (uint8_t *)g.info.recv_buf + pkt.xfer_ranges[0].byte_offset, sizeof(icm));
	KT_ASSERT(icm.type == RNDIS_MSG_INIT_CMPLT && icm.rid == ri.rid &&
			  icm.status == RNDIS_STATUS_SUCCESS && icm.max_pkts == 8,
		  "INIT_CMPLT read from the shared receive buffer");
	pc = (struct nvsp_rndis_pkt_comp){ .type = NVSP_MSG_RNDIS_PKT_COMP,
					   .status = NVSP_STATUS_SUCCESS };
	KT_ASSERT(vmbus_chan_send_completion(g.c, 0, pkt.tid, &pc, sizeof(pc)) == 0,
		  "return the control slot");
	kt_note("NVSP 6.1 and RNDIS initialized through %s", kt_drv->name);

	vmbus_dev_close(g.dev);
	kt_hostsim_stop();
	/* the host's close rescinded the device */
	for (i = 0; i < KT_TIMEOUT_MS / 10 && kt_exists("/sys/bus/vmbus/devices/%s", guid); i++)
		usleep(10000);
	KT_ASSERT(!kt_exists("/sys/bus/vmbus/devices/%s", guid), "the device went away");
	kt_pass();
}
