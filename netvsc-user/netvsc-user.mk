# netvsc-user: libnetvsc (the protocol library) and the netvsc-user program,
# their sources and flags, for every build of them (the top Makefile,
# tests/kernel/suite/Makefile; tests/fuzz/run reads them too).  Paths are
# from the top of the tree, behind $(TOP).  Needs libvmbus.mk first.

LIBNETVSC_SRCS := $(addprefix $(TOP)netvsc-user/src/,attach.c codec_ndis.c codec_nvsp.c \
	codec_rndis.c datapath.c nvsp.c rndis.c)
# the public headers: <netvsc/netvsc.h>, and <netvsc/proto.h> for the wire
NETVSC_INCLUDE := -I$(TOP)netvsc-user/include
LIBNETVSC_CPPFLAGS := $(NETVSC_INCLUDE) $(LIBVMBUS_INCLUDE) -I$(TOP)include

NETVSC_USER_SRCS := $(addprefix $(TOP)netvsc-user/prog/,echo.c gen.c main.c output.c pcap.c \
	send.c session.c tap.c)
NETVSC_USER_CPPFLAGS := $(NETVSC_INCLUDE) $(LIBVMBUS_INCLUDE) -I$(TOP)include
NETVSC_USER_LDLIBS := -lpthread
