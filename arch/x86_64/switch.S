/* Thread switch: save the callee-saved registers on the old stack, store its pointer, load the
 * new stack and pop the new thread's registers.  Everything else was saved by the C caller.
 *     void arch_thread_switch(uint64_t *save_sp, uint64_t new_sp)   (interrupts off) */
    .text
    .global arch_thread_switch
arch_thread_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret

/* A new thread's first instructions: its switch frame "returns" here with the thread in %r12.
 * A zero frame pointer ends backtraces at the thread's first function. */
    .global arch_thread_start
arch_thread_start:
    xorl %ebp, %ebp
    movq %r12, %rdi
    andq $-16, %rsp
    call thread_entry
    ud2
