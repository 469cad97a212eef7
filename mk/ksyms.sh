#!/bin/sh
# Emits an assembly file holding the kernel's function symbols, sorted by address, for the
# panic backtrace: ksyms_count, ksyms_addresses[], ksyms_names (NUL-separated).
elf=$1
if [ "$elf" = /dev/null ]; then syms=""; else
    syms=$(${NM:-nm} -n --defined-only "$elf" | awk '$2 ~ /^[tT]$/ && $3 !~ /^\./ {print $1, $3}')
fi
count=$(printf '%s' "$syms" | grep -c . || true)
echo '.section .ksyms, "a"'
echo '.balign 8'
echo '.global ksyms_count'
echo "ksyms_count: .quad $count"
echo '.global ksyms_addresses'
echo 'ksyms_addresses:'
printf '%s\n' "$syms" | awk 'NF==2 {print "  .quad 0x" $1}'
echo '.global ksyms_names'
echo 'ksyms_names:'
printf '%s\n' "$syms" | awk 'NF==2 {print "  .asciz \"" $2 "\""}'
