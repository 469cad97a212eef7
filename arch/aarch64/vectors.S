/* Exception vectors (VBAR_EL1).  The kernel runs at EL1 on SP_EL1, so the "current EL with
 * SPx" entries are the ones in use; the others are reported as what they are.  Every entry
 * saves a struct exception_frame (x0-x30, ELR, SPSR, the interrupted sp) on the current stack,
 * calls C and restores it.  Synchronous exceptions and IRQs first check that the frame fits on the
 * current thread's stack: a thread that ran into its guard page faults there, and pushing the
 * frame onto the same exhausted stack would fault again, forever.  Such an exception moves to
 * this CPU's emergency stack and is reported (exception_on_overflow_stack). */

#include "vectors.h"

.macro save_frame
    sub sp, sp, #FRAME_SIZE
    stp x0, x1, [sp, #16 * 0]
    stp x2, x3, [sp, #16 * 1]
    stp x4, x5, [sp, #16 * 2]
    stp x6, x7, [sp, #16 * 3]
    stp x8, x9, [sp, #16 * 4]
    stp x10, x11, [sp, #16 * 5]
    stp x12, x13, [sp, #16 * 6]
    stp x14, x15, [sp, #16 * 7]
    stp x16, x17, [sp, #16 * 8]
    stp x18, x19, [sp, #16 * 9]
    stp x20, x21, [sp, #16 * 10]
    stp x22, x23, [sp, #16 * 11]
    stp x24, x25, [sp, #16 * 12]
    stp x26, x27, [sp, #16 * 13]
    stp x28, x29, [sp, #16 * 14]
    mrs x21, elr_el1
    stp x30, x21, [sp, #16 * 15]
    mrs x22, spsr_el1
    add x23, sp, #FRAME_SIZE
    stp x22, x23, [sp, #16 * 16]
    /* A frame record, so backtraces walk from the handler into the interrupted code. */
    stp x29, x21, [sp, #-16]!
    mov x29, sp
.endm

.macro restore_frame
    add sp, sp, #16
    ldp x22, x23, [sp, #16 * 16]
    msr spsr_el1, x22
    ldp x30, x21, [sp, #16 * 15]
    msr elr_el1, x21
    ldp x0, x1, [sp, #16 * 0]
    ldp x2, x3, [sp, #16 * 1]
    ldp x4, x5, [sp, #16 * 2]
    ldp x6, x7, [sp, #16 * 3]
    ldp x8, x9, [sp, #16 * 4]
    ldp x10, x11, [sp, #16 * 5]
    ldp x12, x13, [sp, #16 * 6]
    ldp x14, x15, [sp, #16 * 7]
    ldp x16, x17, [sp, #16 * 8]
    ldp x18, x19, [sp, #16 * 9]
    ldp x20, x21, [sp, #16 * 10]
    ldp x22, x23, [sp, #16 * 11]
    ldp x24, x25, [sp, #16 * 12]
    ldp x26, x27, [sp, #16 * 13]
    ldp x28, x29, [sp, #16 * 14]
    add sp, sp, #FRAME_SIZE
    eret
.endm

.macro entry handler, kind
    .balign 128
    b \handler\()_\kind
.endm

/* Branches to \overflow when SP lies between the start of the current thread's guard page and
 * the point where a frame would no longer fit above it.  x0-x2 are kept meanwhile in the EL0
 * registers, which no kernel code uses; SP outside that range (a boot or start-up stack, a thread
 * without a stack of its own) passes. */
.macro check_stack overflow
    msr sp_el0, x0
    msr tpidrro_el0, x1
    msr tpidr_el0, x2
    mrs x0, tpidr_el1
    ldr x0, [x0, #CPU_CURRENT_OFFSET]
    cbz x0, 1f
    ldr x0, [x0, #THREAD_STACK_OFFSET]
    cbz x0, 1f
    mov x1, sp
    sub x1, x1, x0
    add x1, x1, #STACK_GUARD_SIZE /* SP - guard page start */
    mov x2, #(STACK_GUARD_SIZE + FRAME_SIZE + 16)
    cmp x1, x2
    b.lo \overflow
1:
    mrs x0, sp_el0
    mrs x1, tpidrro_el0
    mrs x2, tpidr_el0
.endm

/* SP to the top of this CPU's emergency stack, the exhausted SP pushed there for the report. */
.macro switch_to_overflow_stack
    mrs x0, tpidr_el1
    ldr w0, [x0, #CPU_ID_OFFSET]
    add x0, x0, #1
    lsl x0, x0, #OVERFLOW_STACK_SHIFT
    adrp x1, overflow_stacks
    add x1, x1, :lo12:overflow_stacks
    add x1, x1, x0
    mov x2, sp
    mov sp, x1
    str x2, [sp, #-16]!
    mrs x0, sp_el0
    mrs x1, tpidrro_el0
    mrs x2, tpidr_el0
.endm

/* The code behind a vector slot (a slot holds only 32 instructions). */
.macro stub handler, kind
\handler\()_\kind:
    .if \kind == 4 || \kind == 5
    check_stack \handler\()_\kind\()_overflow
    .endif
    save_frame
    add x0, sp, #16
    mov x1, #\kind
    bl \handler
    restore_frame
    .if \kind == 4 || \kind == 5
\handler\()_\kind\()_overflow:
    switch_to_overflow_stack
    save_frame
    add x0, sp, #16
    mov x1, #\kind
    bl exception_on_overflow_stack /* does not return */
    .endif
.endm

    .text
    .balign 2048
    .global exception_vectors
exception_vectors:
    /* current EL with SP_EL0: never used by the kernel */
    entry exception_unexpected, 0
    entry exception_unexpected, 1
    entry exception_unexpected, 2
    entry exception_unexpected, 3
    /* current EL with SP_EL1 */
    entry exception_sync, 4
    entry exception_irq, 5
    entry exception_unexpected, 6
    entry exception_unexpected, 7
    /* lower EL, AArch64 and AArch32: there is no lower EL code */
    entry exception_unexpected, 8
    entry exception_unexpected, 9
    entry exception_unexpected, 10
    entry exception_unexpected, 11
    entry exception_unexpected, 12
    entry exception_unexpected, 13
    entry exception_unexpected, 14
    entry exception_unexpected, 15

    /* out of line: what each slot branches to */
    stub exception_unexpected, 0
    stub exception_unexpected, 1
    stub exception_unexpected, 2
    stub exception_unexpected, 3
    stub exception_sync, 4
    stub exception_irq, 5
    stub exception_unexpected, 6
    stub exception_unexpected, 7
    stub exception_unexpected, 8
    stub exception_unexpected, 9
    stub exception_unexpected, 10
    stub exception_unexpected, 11
    stub exception_unexpected, 12
    stub exception_unexpected, 13
    stub exception_unexpected, 14
    stub exception_unexpected, 15
