/* With FAKETIME_DONT_FAKE_MONOTONIC=1, libfaketime 0.9.10 still shifts the deadline of an absolute
 * clock_nanosleep on CLOCK_MONOTONIC by its offset, which makes the deadline negative (EINVAL) for a
 * year ahead: Python's time.sleep fails. Preloaded before libfaketime, this sends monotonic sleeps
 * straight to the kernel and every other clock on to libfaketime. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int clock_nanosleep(clockid_t clock, int flags, const struct timespec *request, struct timespec *remain)
{
    if (clock == CLOCK_MONOTONIC || clock == CLOCK_MONOTONIC_RAW || clock == CLOCK_BOOTTIME) {
        long failed = syscall(SYS_clock_nanosleep, clock, flags, request, remain);
        return failed ? errno : 0;
    }
    static int (*next)(clockid_t, int, const struct timespec *, struct timespec *);
    if (!next)
        next = dlsym(RTLD_NEXT, "clock_nanosleep");
    return next(clock, flags, request, remain);
}
