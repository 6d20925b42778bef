/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_FUZZ_EAL_H
#define MG_FUZZ_EAL_H

/*
 * The CPU a fuzz target's lcores run on: the first one the process may use,
 * so that `taskset -c N` (test/fuzz/run.sh with MG_FUZZ_CPU=N) puts two
 * targets on two cores. The EAL pins its threads itself, and a fixed "-l 0"
 * had every target share CPU 0 however it was started.
 *
 * Include it first: it needs _GNU_SOURCE before any system header.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <stdio.h>

/* "--lcores" argument: lcores 0..n-1 all on that CPU. */
static inline const char *
mg_fuzz_lcores(char *buf, size_t len, unsigned int n)
{
	cpu_set_t set;
	int cpu = 0;
	size_t off = 0;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &set)) {
				cpu = c;
				break;
			}
	for (unsigned int i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%u@%d", i ? "," : "", i, cpu);
	return buf;
}

#endif
