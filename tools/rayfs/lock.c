/* Image locks for rayfs: shared for reading, exclusive for writing, in the same byte-range
 * scheme QEMU uses for the images it has open, so rayfs, QEMU and qemu-img all see each other.
 *
 * The scheme (open file description locks, F_OFD_*, all of them read locks on single bytes):
 * a process holding permission P locks byte PERM_BASE + P; one that does not let others have P
 * locks byte SHARED_BASE + P.  Wanting P conflicts with anyone else's SHARED_BASE + P; refusing
 * to share P conflicts with anyone else's PERM_BASE + P.  Each side locks first and tests
 * second (F_OFD_GETLK with a write lock finds other descriptions' locks only), so of two
 * processes starting at once at least one sees the other.  rayfs also locks MARK_BYTE, which
 * tells a waiting rayfs that the holder is another rayfs (worth waiting for) rather than, say,
 * a running virtual machine (not worth waiting for). */
#define _GNU_SOURCE /* F_OFD_SETLK */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define PERM_BASE   100
#define SHARED_BASE 200
#define MARK_BYTE   300

#define FOREIGN_SECONDS 0.3 /* a conflict this long without a rayfs mark: not a rayfs */

enum permission { PERM_READ, PERM_WRITE, PERM_WRITE_UNCHANGED, PERM_RESIZE, PERM_COUNT };

struct lock_plan {
    unsigned held;     /* permissions this process has */
    unsigned unshared; /* permissions it lets nobody else have */
};

static const struct lock_plan reader = {1u << PERM_READ, 1u << PERM_WRITE | 1u << PERM_RESIZE};
static const struct lock_plan writer = {1u << PERM_READ | 1u << PERM_WRITE,
                                        (1u << PERM_COUNT) - 1}; /* shares nothing */

static int byte_lock(int fd, short type, off_t byte, int command)
{
    struct flock lock = {.l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1};
    return fcntl(fd, command, &lock);
}

/* Does another open file description hold a lock on byte? */
static int other_holds(int fd, off_t byte)
{
    struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1};
    if (fcntl(fd, F_OFD_GETLK, &lock) != 0)
        return -errno;
    return lock.l_type != F_UNLCK;
}

static void unlock_all(int fd)
{
    byte_lock(fd, F_UNLCK, PERM_BASE, F_OFD_SETLK);
    struct flock all = {.l_type = F_UNLCK,
                        .l_whence = SEEK_SET,
                        .l_start = PERM_BASE,
                        .l_len = MARK_BYTE - PERM_BASE + 1};
    fcntl(fd, F_OFD_SETLK, &all);
}

/* Takes the plan's locks and tests for conflicts: 0, 1 on a conflict (locks released), or a
 * negative errno. */
static int try_lock(int fd, const struct lock_plan *plan)
{
    for (unsigned p = 0; p < PERM_COUNT; p++) {
        if (((plan->held >> p) & 1) && byte_lock(fd, F_RDLCK, PERM_BASE + p, F_OFD_SETLK) != 0)
            goto failed;
        if (((plan->unshared >> p) & 1) &&
            byte_lock(fd, F_RDLCK, SHARED_BASE + p, F_OFD_SETLK) != 0)
            goto failed;
    }
    if (byte_lock(fd, F_RDLCK, MARK_BYTE, F_OFD_SETLK) != 0)
        goto failed;
    for (unsigned p = 0; p < PERM_COUNT; p++) {
        int conflict = 0;
        if ((plan->held >> p) & 1)
            conflict = other_holds(fd, SHARED_BASE + p);
        if (!conflict && ((plan->unshared >> p) & 1))
            conflict = other_holds(fd, PERM_BASE + p);
        if (conflict) {
            unlock_all(fd);
            return conflict < 0 ? conflict : 1;
        }
    }
    return 0;
failed : {
    int error = -errno;
    unlock_all(fd);
    /* Another process's write lock on our bytes is a conflict too (not QEMU's way, but
     * harmless to treat as one). */
    return error == -EAGAIN || error == -EACCES ? 1 : error;
}
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int image_lock(int fd, bool writable, double wait_seconds, const char **why)
{
    const struct lock_plan *plan = writable ? &writer : &reader;
    double deadline = now_seconds() + wait_seconds;
    unsigned seed = (unsigned)getpid();
    double foreign_since = 0; /* when a conflict without a rayfs mark was first seen */
    for (;;) {
        int status = try_lock(fd, plan);
        if (status <= 0) {
            if (status < 0)
                *why = "cannot lock it";
            return status;
        }
        /* A rayfs holder finishes soon: wait for it.  Anything else (a virtual machine using
         * the image) may hold it for hours: say so now.  Another rayfs backing off from a
         * conflict of its own drops its mark with its locks, so only a conflict that lasts a
         * moment without a mark is another program's. */
        double now = now_seconds();
        if (other_holds(fd, MARK_BYTE) == 1)
            foreign_since = 0;
        else if (!foreign_since)
            foreign_since = now;
        if (foreign_since && now - foreign_since >= FOREIGN_SECONDS) {
            *why = writable ? "in use by another program (a running QEMU?); stop it first"
                            : "being written by another program (a running QEMU?); stop it "
                              "first";
            return -EBUSY;
        }
        if (!foreign_since && now >= deadline) {
            *why = writable ? "in use by another rayfs; gave up waiting (--wait SECONDS)"
                            : "being written by another rayfs; gave up waiting (--wait SECONDS)";
            return -EBUSY;
        }
        struct timespec pause = {0, (long)(5 + rand_r(&seed) % 20) * 1000000L};
        nanosleep(&pause, NULL);
    }
}
