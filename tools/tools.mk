# vmbus-bind, vmbus-ls, vmbus-ring: the bus tools, their sources and flags,
# for every build of them (the top Makefile, tests/kernel/suite/Makefile).
# Paths are from the top of the tree, behind $(TOP).  Needs libvmbus.mk
# first: the tools use libvmbus's public API only.  The sources of tool T
# are $(T_SRCS).

BUS_TOOLS := vmbus-bind vmbus-ls vmbus-ring
vmbus-bind_SRCS := $(addprefix $(TOP)tools/vmbus-bind/,main.c safety.c sysfs.c)
vmbus-ls_SRCS := $(TOP)tools/vmbus-ls/vmbus-ls.c
vmbus-ring_SRCS := $(TOP)tools/vmbus-ring/vmbus-ring.c
BUS_TOOLS_CPPFLAGS := $(LIBVMBUS_INCLUDE)
BUS_TOOLS_LDLIBS := -lpthread
