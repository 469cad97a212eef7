#ifndef KERNEL_SELFTEST_INTERNAL_H
#define KERNEL_SELFTEST_INTERNAL_H

void selftest_run_all(void) __attribute__((noreturn));

#endif
