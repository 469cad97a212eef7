/* Error codes.  Functions return 0 or a positive count on success and a negative code from this
 * list on failure.  The values are Linux's, so host tools can hand them to strerror(). */
#ifndef RAYOS_ERRNO_H
#define RAYOS_ERRNO_H

#if __STDC_HOSTED__
#include <errno.h>
#else
#define EPERM        1
#define ENOENT       2
#define EINTR        4
#define EIO          5
#define ENXIO        6
#define E2BIG        7
#define ENOEXEC      8
#define EBADF        9
#define EAGAIN       11
#define ENOMEM       12
#define EACCES       13
#define EFAULT       14
#define EBUSY        16
#define EEXIST       17
#define EXDEV        18
#define ENODEV       19
#define ENOTDIR      20
#define EISDIR       21
#define EINVAL       22
#define ENFILE       23
#define EMFILE       24
#define EFBIG        27
#define ENOSPC       28
#define ESPIPE       29
#define EROFS        30
#define EMLINK       31
#define ERANGE       34
#define EDEADLK      35
#define ENAMETOOLONG 36
#define ENOSYS       38
#define ENOTEMPTY    39
#define ELOOP        40
#define ENODATA      61
#define ETIME        62
#define EOVERFLOW    75
#define EILSEQ       84
#define EOPNOTSUPP   95
#define ETIMEDOUT    110
#define EALREADY     114
#define EUCLEAN      117
#define EMEDIUMTYPE  124
#endif

/* A short human-readable text for a (positive) error code, like strerror(). */
const char *error_name(int error);

#endif
