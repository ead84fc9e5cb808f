# vmbus-hostsim: its sources and flags, for every build of it (the top
# Makefile, tests/kernel/suite/Makefile).  Paths are from the top of the
# tree, behind $(TOP).  Needs libvmbus.mk and netvsc-user.mk first: it links
# libvmbus (the ring rules are symmetric) and uses netvsc-user's protocol
# header; include/ holds the test module's ABI (uapi/vmbus_sim.h) that its
# kernel transport speaks.

HOSTSIM_SRCS := $(addprefix $(TOP)tools/vmbus-hostsim/,bus.c ctl.c kern_transport.c main.c \
	netvsp.c netvsp_data.c netvsp_fault.c netvsp_nvsp.c netvsp_offload.c netvsp_rndis.c offers.c peer_mem.c \
	sim_transport.c wires.c)
HOSTSIM_CPPFLAGS := $(LIBVMBUS_INCLUDE) $(NETVSC_INCLUDE) -I$(TOP)include
HOSTSIM_LDLIBS := -lpthread
