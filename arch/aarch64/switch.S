/* Thread switch: save the callee-saved registers (x19-x29, x30) on the old stack, store its
 * pointer, load the new stack and restore the new thread's.  The C caller saved the rest.
 *     void arch_thread_switch(uint64_t *save_sp, uint64_t new_sp)   (interrupts off) */
    .text
    .global arch_thread_switch
arch_thread_switch:
    sub sp, sp, #96
    stp x19, x20, [sp, #0]
    stp x21, x22, [sp, #16]
    stp x23, x24, [sp, #32]
    stp x25, x26, [sp, #48]
    stp x27, x28, [sp, #64]
    stp x29, x30, [sp, #80]
    mov x2, sp
    str x2, [x0]
    mov sp, x1
    ldp x19, x20, [sp, #0]
    ldp x21, x22, [sp, #16]
    ldp x23, x24, [sp, #32]
    ldp x25, x26, [sp, #48]
    ldp x27, x28, [sp, #64]
    ldp x29, x30, [sp, #80]
    add sp, sp, #96
    ret

/* A new thread's first instructions: its switch frame "returns" here with the thread in x19.
 * A zero frame pointer ends backtraces at the thread's first function. */
    .global arch_thread_start
arch_thread_start:
    mov x29, #0
    mov x30, #0
    mov x0, x19
    bl thread_entry
    brk #0x800

/* uint64_t semihosting_call(uint64_t operation, uint64_t argument): the Arm semihosting trap
 * (HLT #0xf000 in AArch64).  Where the debugger or emulator does not implement semihosting the
 * HLT is an undefined instruction; the exception handler recognises semihosting_trap, returns
 * -1 and skips it, so the call doubles as a probe. */
    .global semihosting_call
    .global semihosting_trap
semihosting_call:
semihosting_trap:
    hlt #0xf000
    ret
