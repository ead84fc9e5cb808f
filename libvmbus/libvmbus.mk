# libvmbus: its sources and flags, for every build of it (the top Makefile,
# tests/kernel/suite/Makefile; tests/fuzz/run reads them too).  Paths are
# from the top of the tree, behind $(TOP): "" or the tree's path with "/".

LIBVMBUS_SRCS := $(addprefix $(TOP)libvmbus/src/,chan.c classes.c device.c dma.c guid.c \
	inspect.c ring.c scan.c uio.c util.c)
# what programs and libraries built on libvmbus include: the public headers
LIBVMBUS_INCLUDE := -I$(TOP)libvmbus/include
# the library itself also uses the tree's shared private headers (opts.h)
LIBVMBUS_CPPFLAGS := $(LIBVMBUS_INCLUDE) -I$(TOP)include
# position-independent for libvmbus.so, which exports only what VMBUS_API marks
LIBVMBUS_CFLAGS := -fPIC -fvisibility=hidden
LIBVMBUS_LDLIBS := -lpthread
