// CSystem: the GNU extensions of the C library the agent needs and Swift cannot import. glibc
// declares them only under _GNU_SOURCE, which Swift's Glibc module is not built with, so the .c
// files here (compiled with it) call them for us.
#ifndef EDGEAGENT_CSYSTEM_H
#define EDGEAGENT_CSYSTEM_H

#include <spawn.h>

/// Creates a pipe whose two descriptors carry `flags` (O_CLOEXEC, O_NONBLOCK) from the moment
/// they exist: no other thread's fork or posix_spawn can copy them without close-on-exec, as it
/// can between pipe() and a later fcntl(). pipe2(2).
/// Returns 0, or -1 with errno set (EMFILE, ENFILE: no descriptors left).
int CSystem_pipe2(int fds[2], int flags);

/// Adds a file action that closes every descriptor from `from` up in the child, after the
/// actions added before it: glibc's posix_spawn_file_actions_addclosefrom_np (glibc 2.34 and
/// later), which runs in the child between its creation and exec, so no other thread of the
/// parent can open a descriptor that escapes it. Built against an older C library it falls
/// back to `CSystem_addCloseEachOpen`.
/// Returns 0, or an errno value.
int CSystem_addCloseFrom(posix_spawn_file_actions_t *actions, int from);

/// The fallback for C libraries without closefrom: lists /proc/self/fd now and adds a close
/// action for each descriptor from `from` up. A descriptor another thread opens between this
/// call and the spawn is not in the list (the agent opens its own with close-on-exec); one
/// closed meanwhile is harmless (glibc ignores EBADF from a close action).
/// Returns 0, or an errno value (that of opendir when /proc is not mounted).
int CSystem_addCloseEachOpen(posix_spawn_file_actions_t *actions, int from);

#endif
