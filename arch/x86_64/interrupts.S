/* Interrupt entry stubs: one per vector, pushing a uniform frame (struct interrupt_frame). */
    .text

.macro STUB vector
    .balign 16
interrupt_stub_\vector:
    .if (\vector == 8) || (\vector >= 10 && \vector <= 14) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
    .else
    pushq $0                /* no error code from the CPU: keep the frame uniform */
    .endif
    pushq $\vector
    jmp interrupt_common
.endm

.altmacro
.macro STUB_ADDRESS vector
    .quad interrupt_stub_\vector
.endm

vector = 0
.rept 256
    STUB %vector
    vector = vector + 1
.endr

interrupt_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    cld
    movq %rsp, %rdi
    call interrupt_entry
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp          /* vector and error code */
    iretq

    .section .rodata
    .balign 8
    .global interrupt_stubs
interrupt_stubs:
vector = 0
.rept 256
    STUB_ADDRESS %vector
    vector = vector + 1
.endr
