// Before any header: posix_spawn_file_actions_addclosefrom_np is a GNU extension.
#define _GNU_SOURCE 1

#include "CPosixSpawn.h"

#include <errno.h>

int CPosixSpawn_addCloseFrom(posix_spawn_file_actions_t *actions, int from) {
#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 34)
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
#endif
#endif
    (void)actions;
    (void)from;
    return ENOSYS;
}
