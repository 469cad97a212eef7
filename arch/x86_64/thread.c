/* A new thread's stack: a switch frame (as arch_thread_switch leaves it) that returns into
 * arch_thread_start with the thread pointer in %r12. */
#include <rayos/thread.h>

uint64_t arch_thread_initial_sp(void *stack_top, struct thread *t)
{
    uint64_t *sp = (uint64_t *)((uint64_t)stack_top & ~15ULL);
    *--sp = 0;                           /* keeps the start frame 16-byte aligned */
    *--sp = (uint64_t)arch_thread_start; /* return address of the switch */
    *--sp = 0;                           /* rbp */
    *--sp = 0;                           /* rbx */
    *--sp = (uint64_t)t;                 /* r12 */
    *--sp = 0;                           /* r13 */
    *--sp = 0;                           /* r14 */
    *--sp = 0;                           /* r15 */
    return (uint64_t)sp;
}
