/* A new thread's stack: a switch frame (as arch_thread_switch leaves it) that returns into
 * arch_thread_start with the thread pointer in x19. */
#include <rayos/thread.h>

uint64_t arch_thread_initial_sp(void *stack_top, struct thread *t)
{
    uint64_t *sp = (uint64_t *)((uint64_t)stack_top & ~15ULL);
    sp -= 12;
    for (unsigned i = 0; i < 12; i++)
        sp[i] = 0;
    sp[0] = (uint64_t)t;                  /* x19 */
    sp[11] = (uint64_t)arch_thread_start; /* x30: where the switch returns */
    return (uint64_t)sp;
}
