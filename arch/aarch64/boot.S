/* AArch64 entry: the arm64 Image header (so QEMU's -kernel, U-Boot and GRUB load us and pass
 * the device tree's physical address in x0), the drop from EL2 to EL1, the early page tables,
 * the MMU switch into the kernel's virtual addresses, and the secondary CPUs' entry (PSCI
 * CPU_ON).  Everything before the MMU is on runs at the physical load address, so it uses only
 * PC-relative addressing (adr/adrp). */

#define KERNEL_VIRT_BASE 0xffffffff80000000

/* MAIR_EL1: attr0 Device-nGnRE, attr1 Normal write-back, attr2 Normal non-cacheable. */
#define MAIR_VALUE 0x000000000044ff04
/* TCR_EL1: 48-bit VA in both halves (T0SZ = T1SZ = 16), 4 KiB granules, write-back
 * inner-shareable walks; IPS is filled in from ID_AA64MMFR0_EL1. */
#define TCR_VALUE  0xb5103510
/* SCTLR_EL1: RES1 bits of ARMv8.0, plus M (MMU), C (data cache), SA (stack alignment), I. */
#define SCTLR_RES1  0x30d00800
#define SCTLR_VALUE 0x30d0180d

#define PTE_TABLE   3
#define PTE_BLOCK   1
#define PTE_AF      (1 << 10)
#define PTE_SH      (3 << 8)
#define PTE_NORMAL  ((1 << 2) | PTE_AF | PTE_SH | PTE_BLOCK)
#define PTE_DEVICE  ((0 << 2) | PTE_AF | PTE_BLOCK)
#define PTE_XN_HI   0x0060 /* bits 53 (PXN) and 54 (UXN), in the top halfword */

    .section .head.text, "ax"
    .global _head
_head:
    b primary_entry
    .long 0
    .quad 0              /* text_offset: anywhere 2 MiB aligned (flags bit 3) */
    .quad _kernel_size   /* image size including .bss */
    .quad 0xa            /* flags: little-endian, 4 KiB pages, placement anywhere */
    .quad 0, 0, 0
    .ascii "ARM\x64"
    .long 0

primary_entry:
    mov x19, x0                 /* the device tree blob (physical) */
    adrp x20, _head             /* where we were loaded (physical) */
    bl el2_to_el1
    adrp x0, _bss_start
    add x0, x0, :lo12:_bss_start
    adrp x1, _bss_end
    add x1, x1, :lo12:_bss_end
1:  cmp x0, x1
    b.hs 2f
    stp xzr, xzr, [x0], #16
    b 1b
2:  bl build_early_tables
    adrp x0, early_kernel_l0
    bl mmu_on
    ldr x0, =primary_high
    br x0

/* Drops from EL2 (QEMU with virtualization=on, most firmware) to EL1; at EL1 returns. */
el2_to_el1:
    mrs x0, CurrentEL
    cmp x0, #(2 << 2)
    b.ne 9f
    mov x0, #(1 << 31)          /* HCR_EL2.RW: EL1 is AArch64 */
    msr hcr_el2, x0
    mov x0, #3                  /* CNTHCTL_EL2: EL1 may use the physical counter and timer */
    msr cnthctl_el2, x0
    msr cntvoff_el2, xzr
    mrs x0, id_aa64pfr0_el1     /* GIC system registers implemented? */
    ubfx x0, x0, #24, #4
    cbz x0, 3f
    mrs x0, s3_4_c12_c9_5       /* ICC_SRE_EL2: SRE and Enable (EL1 may use ICC_SRE_EL1) */
    mov x1, #0x9
    orr x0, x0, x1
    msr s3_4_c12_c9_5, x0
    isb
3:  msr vttbr_el2, xzr
    mov x0, #0x33ff             /* CPTR_EL2: RES1 bits, no traps */
    msr cptr_el2, x0
    ldr x0, =SCTLR_RES1
    msr sctlr_el1, x0
    mov x0, #0x3c5              /* SPSR_EL2: EL1h, D/A/I/F masked */
    msr spsr_el2, x0
    msr elr_el2, x30
    eret
9:  ret

/* x0 = physical address of a page table, x1 = index, x2 = descriptor. */
set_entry:
    str x2, [x0, x1, lsl #3]
    ret

/* Early tables (physical addresses; the MMU is off):
 *   TTBR0: identity map of the gigabytes holding the kernel and the device tree (normal
 *          memory) and of the first gigabyte (device memory: the early UART), only until
 *          the kernel runs at its virtual addresses;
 *   TTBR1: the image at KERNEL_VIRT_BASE in 2 MiB blocks, and the direct map of the kernel's
 *          gigabyte, from which paging_init takes the pages of the real tables. */
build_early_tables:
    mov x28, x30
    mov x9, #PTE_NORMAL
    lsr x21, x20, #30           /* the kernel's gigabyte */
    lsr x22, x19, #30           /* the device tree's gigabyte */
    and x22, x22, #511
    /* identity: L0[0] -> L1 */
    adrp x0, early_idmap_l0
    adrp x2, early_idmap_l1
    orr x2, x2, #PTE_TABLE
    mov x1, #0
    bl set_entry
    adrp x0, early_idmap_l1
    mov x1, #0
    mov x2, #PTE_DEVICE
    movk x2, #PTE_XN_HI, lsl #48
    bl set_entry
    mov x1, x22
    lsl x2, x22, #30
    orr x2, x2, x9
    bl set_entry
    mov x1, x21
    lsl x2, x21, #30
    orr x2, x2, x9
    bl set_entry
    /* kernel half: L0[0] -> direct-map L1, L0[511] -> kernel L1, L1[510] -> kernel L2 */
    adrp x0, early_kernel_l0
    adrp x2, early_direct_l1
    orr x2, x2, #PTE_TABLE
    mov x1, #0
    bl set_entry
    adrp x2, early_kernel_l1
    orr x2, x2, #PTE_TABLE
    mov x1, #511
    bl set_entry
    adrp x0, early_direct_l1
    mov x1, x21
    lsl x2, x21, #30
    orr x2, x2, x9
    movk x2, #PTE_XN_HI, lsl #48
    bl set_entry
    adrp x0, early_kernel_l1
    adrp x2, early_kernel_l2
    orr x2, x2, #PTE_TABLE
    mov x1, #510
    bl set_entry
    /* the image: ceil(_kernel_size / 2 MiB) blocks */
    adrp x0, early_kernel_l2
    ldr x3, =_kernel_size
    ldr x4, =0x1fffff
    add x3, x3, x4
    lsr x3, x3, #21
    mov x1, #0
4:  cmp x1, x3
    b.hs 5f
    add x2, x20, x1, lsl #21
    orr x2, x2, x9
    bl set_entry
    add x1, x1, #1
    b 4b
5:  dsb sy
    mov x30, x28
    ret

/* x0 = physical TTBR1 table.  Turns the MMU on with the identity map in TTBR0, so the next
 * instruction still runs; the caller then branches to a virtual address. */
mmu_on:
    ldr x1, =MAIR_VALUE
    msr mair_el1, x1
    mrs x2, id_aa64mmfr0_el1
    and x2, x2, #7              /* PARange */
    cmp x2, #5
    mov x3, #5
    csel x2, x2, x3, ls         /* at most 48 bits with this granule */
    ldr x1, =TCR_VALUE
    orr x1, x1, x2, lsl #32
    msr tcr_el1, x1
    adrp x1, early_idmap_l0
    msr ttbr0_el1, x1
    msr ttbr1_el1, x0
    isb
    tlbi vmalle1
    dsb nsh
    isb
    ldr x1, =SCTLR_VALUE
    msr sctlr_el1, x1
    isb
    ret

primary_high:
    ldr x0, =boot_stack_top
    mov sp, x0
    mov x29, #0
    ldr x0, =exception_vectors
    msr vbar_el1, x0
    isb
    mov x0, x19
    mov x1, x20
    bl arch_main
    b .

/* PSCI CPU_ON lands here at EL2 or EL1, MMU off, with the CPU's index in x0. */
    .global secondary_entry
secondary_entry:
    mov x19, x0
    bl el2_to_el1
    adrp x0, secondary_ttbr1
    ldr x0, [x0, :lo12:secondary_ttbr1]
    bl mmu_on
    ldr x0, =secondary_high
    br x0

secondary_high:
    ldr x1, =secondary_stack_tops
    ldr x0, [x1, x19, lsl #3]
    mov sp, x0
    mov x29, #0
    ldr x0, =exception_vectors
    msr vbar_el1, x0
    isb
    mov x0, x19
    bl secondary_main
    b .

    .ltorg

    .section .bss.page_aligned, "aw", %nobits
    .balign 4096
    .global early_idmap_l0
early_idmap_l0:  .skip 4096
early_idmap_l1:  .skip 4096
early_kernel_l0: .skip 4096
early_direct_l1: .skip 4096
early_kernel_l1: .skip 4096
early_kernel_l2: .skip 4096
    .balign 16
boot_stack:      .skip 16384
boot_stack_top:
