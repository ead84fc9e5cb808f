# The C compiler and the warnings every userspace C program of the project
# is built with: included by the Makefile and tests/kernel/suite/Makefile,
# read by tests/fuzz/run.

CC ?= cc
ifeq ($(origin CC),default)
CC := cc
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wformat=2 -Wno-format-nonliteral
