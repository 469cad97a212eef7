/* Boot entry: Multiboot 1 and 2 headers, the 32-bit entry point, the switch to long mode and the
 * jump to kmain at its -2 GiB address.  Everything here runs identity-mapped. */
#define KERNEL_VIRT_BASE 0xffffffff80000000
#define PHYS(sym) ((sym) - KERNEL_VIRT_BASE)

#define MB1_MAGIC 0x1BADB002
#define MB1_FLAGS ((1 << 0) | (1 << 1) | (1 << 16)) /* page-aligned modules, memory map, address fields */
#define MB2_MAGIC 0xE85250D6

    .section .multiboot, "a"
    .balign 4
mb1_header:
    .long MB1_MAGIC
    .long MB1_FLAGS
    .long -(MB1_MAGIC + MB1_FLAGS)
    .long mb1_header        /* header_addr */
    .long _load_start_phys  /* load_addr */
    .long _load_end_phys    /* load_end_addr */
    .long _bss_end_phys     /* bss_end_addr */
    .long start32           /* entry_addr */

    .balign 8
mb2_header:
    .long MB2_MAGIC
    .long 0                 /* i386 protected mode */
    .long mb2_end - mb2_header
    .long -(MB2_MAGIC + (mb2_end - mb2_header))
    .balign 8               /* entry address tag */
    .short 3, 0
    .long 12
    .long start32
    .balign 8               /* end tag */
    .short 0, 0
    .long 8
mb2_end:

    .section .boot.data, "aw"
    .balign 8
    .global boot_magic, boot_info_phys
boot_magic:     .long 0
boot_info_phys: .long 0
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff /* 0x10: data */
boot_gdt_end:
boot_gdt_pointer:
    .short boot_gdt_end - boot_gdt - 1
    .long boot_gdt
no_long_mode_text:
    .asciz "RayOS: this CPU has no 64-bit long mode; cannot boot.\r\n"

    .section .boot.text, "ax"
    .code32
    .global start32
start32:
    cli
    cld
    movl %eax, boot_magic
    movl %ebx, boot_info_phys
    movl $PHYS(boot_stack_top), %esp

    /* Long mode present?  (CPUID 0x80000001 EDX bit 29.) */
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb no_long_mode
    movl $0x80000001, %eax
    cpuid
    testl $(1 << 29), %edx
    jz no_long_mode
    movl %edx, %ebp                 /* keep the NX bit (20) for EFER */

    /* Clear .bss (GRUB and QEMU do, but nothing else guarantees it). */
    movl $_bss_start_phys, %edi
    movl $_bss_end_phys, %ecx
    subl %edi, %ecx
    xorl %eax, %eax
    rep stosb

    /* Four page directories map the first 4 GiB with 2 MiB pages. */
    movl $PHYS(boot_pd), %edi
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax                 /* present, writable, 2 MiB */
    movl %eax, (%edi, %ecx, 8)
    movl %ecx, %eax
    shrl $11, %eax                  /* high half of (index << 21) */
    movl %eax, 4(%edi, %ecx, 8)
    incl %ecx
    cmpl $2048, %ecx
    jne 1b

    /* Identity and direct map (PML4 0 and 256) share a PDPT covering 0-4 GiB; the kernel's
     * -2 GiB window (PML4 511, PDPT 510-511) maps the first 2 GiB. */
    movl $PHYS(boot_pdpt_low), %edi
    movl $PHYS(boot_pd) + 3, %eax
    movl %eax, 0(%edi)
    addl $4096, %eax
    movl %eax, 8(%edi)
    addl $4096, %eax
    movl %eax, 16(%edi)
    addl $4096, %eax
    movl %eax, 24(%edi)
    movl $PHYS(boot_pdpt_high), %edi
    movl $PHYS(boot_pd) + 3, %eax
    movl %eax, 510 * 8(%edi)
    addl $4096, %eax
    movl %eax, 511 * 8(%edi)
    movl $PHYS(boot_pml4), %edi
    movl $PHYS(boot_pdpt_low) + 3, %eax
    movl %eax, 0(%edi)
    movl %eax, 256 * 8(%edi)
    movl $PHYS(boot_pdpt_high) + 3, %eax
    movl %eax, 511 * 8(%edi)

    movl %edi, %cr3
    movl %cr4, %eax
    orl $(1 << 5), %eax             /* PAE */
    movl %eax, %cr4
    movl $0xC0000080, %ecx          /* EFER */
    rdmsr
    orl $(1 << 8), %eax             /* long mode enable */
    testl $(1 << 20), %ebp
    jz 2f
    orl $(1 << 11), %eax            /* no-execute enable */
2:  wrmsr
    movl %cr0, %eax
    orl $((1 << 31) | (1 << 16) | 1), %eax /* paging, write protect, protected mode */
    movl %eax, %cr0
    lgdt boot_gdt_pointer
    ljmp $0x08, $start64

no_long_mode:
    movl $no_long_mode_text, %esi
3:  lodsb
    testb %al, %al
    jz 5f
    movw $0x3fd, %dx                /* wait for COM1's transmitter */
4:  inb %dx, %al
    testb $0x20, %al
    jz 4b
    movb -1(%esi), %al
    movw $0x3f8, %dx
    outb %al, %dx
    jmp 3b
5:  hlt
    jmp 5b

    .code64
start64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movabsq $boot_stack_top, %rsp
    xorl %ebp, %ebp
    movl boot_magic, %edi
    movl boot_info_phys, %esi
    movabsq $kmain, %rax
    call *%rax
6:  cli
    hlt
    jmp 6b

    .section .bss
    .balign 4096
    .global boot_pml4
boot_pml4:      .skip 4096
boot_pdpt_low:  .skip 4096
boot_pdpt_high: .skip 4096
boot_pd:        .skip 4 * 4096
    .global boot_stack_bottom, boot_stack_top
boot_stack_bottom:
    .skip 32768
boot_stack_top:
