/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MG_OWNER_H
#define MG_OWNER_H

/**
 * @file
 * Which worker owns a TCP segment: the steering contract.
 *
 * A flow belongs to one worker for both directions (mg_proxy.h). A client's
 * segment (client -> VIP) belongs to a hash of the client's address and
 * port; an endpoint's segment (endpoint -> SNAT address) to its destination
 * port modulo the number of workers, because each worker allocates only the
 * SNAT ports p with p % n == its index. A segment that arrives on another
 * worker's queue is handed to its owner through a ring, so anything in front
 * of meshgate that puts segments on queue owner() directly (a NIC's RSS with
 * meshgate's predictable key, an rte_flow rule, a generator such as
 * mg-loadgen --steer) saves that hand-off. Header-only, no state: these are
 * the functions the workers themselves use.
 */

#include <stdint.h>
#include <rte_byteorder.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Owner among @p n workers of a client's segment (addresses in network order). */
static inline uint16_t
mg_owner_client(uint32_t n, uint32_t client_ip, uint16_t client_port)
{
	uint32_t h = (client_ip ^ ((uint32_t)client_port * 0x9E3779B1u)) * 0x85EBCA6Bu;

	return (uint16_t)(((uint64_t)(h ^ (h >> 15)) * n) >> 32);
}

/** Owner among @p n workers of an endpoint's segment to SNAT port @p snat_port_be. */
static inline uint16_t
mg_owner_snat_port(uint32_t n, uint16_t snat_port_be)
{
	return (uint16_t)(rte_be_to_cpu_16(snat_port_be) % n);
}

#ifdef __cplusplus
}
#endif
#endif /* MG_OWNER_H */
