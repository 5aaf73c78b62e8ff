// CPipe: pipe2(2), which Swift cannot import. glibc declares it only under _GNU_SOURCE, which
// Swift's Glibc module is not built with, so pipe.c (compiled with it) calls it for us.
#ifndef EDGEAGENT_CPIPE_H
#define EDGEAGENT_CPIPE_H

/// Creates a pipe whose two descriptors carry `flags` (O_CLOEXEC, O_NONBLOCK) from the moment
/// they exist: no other thread's fork or posix_spawn can copy them without close-on-exec, as it
/// can between pipe() and a later fcntl().
/// Returns 0, or -1 with errno set (EMFILE, ENFILE: no descriptors left).
int CPipe_pipe2(int fds[2], int flags);

#endif
