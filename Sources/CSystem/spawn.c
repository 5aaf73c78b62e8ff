// Before any header: posix_spawn_file_actions_addclosefrom_np is a GNU extension.
#define _GNU_SOURCE 1

#include "CSystem.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>

int CSystem_addCloseEachOpen(posix_spawn_file_actions_t *actions, int from) {
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL) {
        return errno != 0 ? errno : ENOSYS;
    }
    int own = dirfd(dir);
    int result = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        char *end = NULL;
        long fd = strtol(entry->d_name, &end, 10);
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9' || end == NULL || *end != '\0') {
            continue;  // "." and ".."
        }
        if (fd < from || fd == own) {
            continue;
        }
        result = posix_spawn_file_actions_addclose(actions, (int)fd);
        if (result != 0) {
            break;
        }
    }
    closedir(dir);
    return result;
}

int CSystem_addCloseFrom(posix_spawn_file_actions_t *actions, int from) {
#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 34)
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
#endif
#endif
    return CSystem_addCloseEachOpen(actions, from);
}
