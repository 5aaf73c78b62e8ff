// Before any header: pipe2 is a GNU extension in glibc (musl declares it by default).
#define _GNU_SOURCE 1

#include "CSystem.h"

#include <unistd.h>

int CSystem_pipe2(int fds[2], int flags) {
    return pipe2(fds, flags);
}
