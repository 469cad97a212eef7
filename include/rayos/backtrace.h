/* Walking a chain of frame records (for the architecture's panic reports): both x86-64 with
 * frame pointers and AAPCS64 keep, where the frame pointer points, {the caller's frame pointer,
 * the return address}.  The chain is trusted no further than the limits the architecture gives:
 * frames in the kernel's upper half and aligned, return addresses in kernel or module text,
 * frames growing upwards. */
#ifndef RAYOS_BACKTRACE_H
#define RAYOS_BACKTRACE_H

#include <rayos/types.h>

struct frame_walk {
    uint64_t lowest_frame; /* no frame below this address (the start of the direct map) */
    uint64_t frame_align;  /* frame records are aligned to this */
    uint64_t lowest_text;  /* a return address below this ends the walk */
    uint64_t call_offset;  /* subtracted from a return address to name the call itself */
};

/* Prints "backtrace:", pc, then every caller's return address with symbol names. */
void backtrace_print(const struct frame_walk *walk, uint64_t pc, uint64_t frame);
/* Return addresses from frame's record on, innermost first; unused entries are zeroed. */
void backtrace_collect(const struct frame_walk *walk, uint64_t frame, uint64_t *out, unsigned max);

#endif
