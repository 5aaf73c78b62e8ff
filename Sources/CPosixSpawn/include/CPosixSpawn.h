// CPosixSpawn: the posix_spawn file action Swift cannot import. glibc declares
// posix_spawn_file_actions_addclosefrom_np only under _GNU_SOURCE, which Swift's Glibc module
// is not built with, so spawn.c (compiled with it) calls it for us.
#ifndef EDGEAGENT_CPOSIXSPAWN_H
#define EDGEAGENT_CPOSIXSPAWN_H

#include <spawn.h>

/// Adds a file action that closes every descriptor from `from` up in the child, after the
/// actions added before it: glibc's posix_spawn_file_actions_addclosefrom_np (glibc 2.34 and
/// later), which runs in the child between its creation and exec, so no other thread of the
/// parent can open a descriptor that escapes it. Built against an older C library it falls
/// back to `CPosixSpawn_addCloseEachOpen`.
/// Returns 0, or an errno value.
int CPosixSpawn_addCloseFrom(posix_spawn_file_actions_t *actions, int from);

/// The fallback for C libraries without closefrom: lists /proc/self/fd now and adds a close
/// action for each descriptor from `from` up. A descriptor another thread opens between this
/// call and the spawn is not in the list (the agent opens its own with close-on-exec); one
/// closed meanwhile is harmless (glibc ignores EBADF from a close action).
/// Returns 0, or an errno value (that of opendir when /proc is not mounted).
int CPosixSpawn_addCloseEachOpen(posix_spawn_file_actions_t *actions, int from);

#endif
