/* What vectors.S needs to know about C structures and the stacks (exceptions.c checks the
 * offsets against the structures at compile time). */
#ifndef ARCH_AARCH64_VECTORS_H
#define ARCH_AARCH64_VECTORS_H

#define FRAME_SIZE          (34 * 8) /* struct exception_frame */
#define CPU_ID_OFFSET       8        /* struct cpu: id */
#define CPU_CURRENT_OFFSET  80       /* struct cpu: current */
#define THREAD_STACK_OFFSET 112      /* struct thread: stack (lowest byte; guard page below) */
#define STACK_GUARD_SIZE    4096
/* Each CPU's emergency stack, for an exception taken on an exhausted kernel stack. */
#define OVERFLOW_STACK_SHIFT 13 /* 8 KiB */

#endif
