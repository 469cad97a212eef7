/* The lock-order checker (kernel/lockdep.c): every lock class is its name; taking class B while
 * holding class A records A -> B, and a new edge that closes a cycle is reported once with both
 * acquisition sites.  Off with the kernel option `nolockdep`. */
#ifndef KERNEL_LOCKDEP_H
#define KERNEL_LOCKDEP_H

#include <rayos/types.h>

void lockdep_acquire(const void *lock, const char *class_name, void *where, bool spin);
void lockdep_release(const void *lock, const char *class_name, bool spin);
unsigned lockdep_reports(void); /* inversions reported so far */

#endif
