// CPosixSpawn: the posix_spawn file action Swift cannot import. glibc declares
// posix_spawn_file_actions_addclosefrom_np only under _GNU_SOURCE, which Swift's Glibc module
// is not built with, so spawn.c (compiled with it) calls it for us.
#ifndef EDGEAGENT_CPOSIXSPAWN_H
#define EDGEAGENT_CPOSIXSPAWN_H

#include <spawn.h>

/// Adds a file action that closes every descriptor from `from` up in the child, after the
/// actions added before it: glibc's posix_spawn_file_actions_addclosefrom_np (glibc 2.34 and
/// later). It runs in the child between its creation and exec, so no other thread of the
/// parent can open a descriptor that escapes it.
/// Returns 0, or an errno value: ENOSYS when the C library has no such action.
int CPosixSpawn_addCloseFrom(posix_spawn_file_actions_t *actions, int from);

#endif
