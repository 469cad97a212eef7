/* Application-processor start-up code.  arch/x86_64/smp.c copies this page to a free page below
 * 1 MiB and points the start-up IPI at it; each AP then runs from real mode through protected
 * mode into long mode on the boot page tables (which identity-map the first 4 GiB), takes a
 * ticket that selects its stack, and jumps to ap_main(ticket) in the kernel proper.
 * Addresses are computed for the page the code is copied to (TRAMPOLINE_PHYS); the data words at
 * the end are filled in by smp.c in the copy. */
#define TRAMPOLINE_PHYS 0x8000
#define T(sym) ((sym) - trampoline_start + TRAMPOLINE_PHYS)

    .section .rodata
    .balign 16
    .global trampoline_start, trampoline_end
    .global trampoline_cr3, trampoline_nx, trampoline_ticket, trampoline_count, trampoline_entry
    .global trampoline_stacks
    .code16
trampoline_start:
    cli
    cld
    xorw %ax, %ax
    movw %ax, %ds
    lgdtl T(trampoline_gdt_pointer)
    movl %cr0, %eax
    orl $1, %eax                    /* protected mode */
    movl %eax, %cr0
    ljmpl $0x08, $T(trampoline32)

    .code32
trampoline32:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl %cr4, %eax
    orl $(1 << 5), %eax             /* PAE */
    movl %eax, %cr4
    movl T(trampoline_cr3), %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx          /* EFER: long mode, and no-execute if the BSP has it */
    rdmsr
    orl $(1 << 8), %eax
    testl $1, T(trampoline_nx)
    jz 1f
    orl $(1 << 11), %eax
1:  wrmsr
    movl %cr0, %eax
    orl $((1 << 31) | (1 << 16)), %eax /* paging, write protect */
    movl %eax, %cr0
    ljmpl $0x18, $T(trampoline64)

    .code64
trampoline64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl $1, %eax
    lock xaddl %eax, T(trampoline_ticket)
    cmpl T(trampoline_count), %eax  /* more arrivals than stacks: park, never run stackless */
    jae 2f
    movq T(trampoline_stacks)(, %rax, 8), %rsp
    testq %rsp, %rsp
    jz 2f
    xorl %ebp, %ebp
    movq %rax, %rdi
    movq T(trampoline_entry), %rax
    call *%rax
2:  cli
    hlt
    jmp 2b

    .balign 8
trampoline_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff        /* 0x08: 32-bit code */
    .quad 0x00cf92000000ffff        /* 0x10: data */
    .quad 0x00af9a000000ffff        /* 0x18: 64-bit code */
trampoline_gdt_pointer:
    .short trampoline_gdt_pointer - trampoline_gdt - 1
    .long T(trampoline_gdt)
    .balign 8
trampoline_cr3:    .long 0
trampoline_nx:     .long 0
trampoline_ticket: .long 0
trampoline_count:  .long 0          /* stacks prepared */
trampoline_entry:  .quad 0
trampoline_stacks: .skip 8 * 64     /* one stack top per AP, by ticket */
trampoline_end:
