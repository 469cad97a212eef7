/* What host tests can ask of the shim beyond the kernel's own interfaces. */
#ifndef HOST_SHIM_H
#define HOST_SHIM_H

/* Runs every kernel timer that is due by the host's clock (there is no timer interrupt on the
 * host); work queued by their callbacks runs at once.  Returns how many fired. */
unsigned host_run_timers(void);

/* The CPU this_cpu() reports (0 by default) and how many CPUs count as online (1 by default):
 * tests of per-CPU choices set them. */
extern unsigned host_cpu;
extern unsigned host_online_cpus;

#endif
