/*
 * modbus_loop: the library's limit for `edge-bench modbus-poll`.
 *
 * Issues the agent's request plan in a tight loop: for each of UNITS units (ids 1..UNITS),
 * read 2*SENSORS holding registers from address 0 and decode SENSORS float32 ABCD values,
 * for SECONDS seconds. Prints one line:
 *   requests R readings N wall_us W cpu_us C errors E
 * where cpu_us is user+system time of this process (getrusage), measured around the loop.
 *
 * Build: cc -O2 -o modbus_loop modbus_loop.c $(pkg-config --cflags --libs libmodbus)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <modbus.h>

static long long now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static long long cpu_us(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    return (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: modbus_loop HOST PORT UNITS SENSORS SECONDS\n");
        return 2;
    }
    const char *host = argv[1];
    const char *port = argv[2];
    int units = atoi(argv[3]);
    int sensors = atoi(argv[4]);
    double seconds = atof(argv[5]);
    int count = 2 * sensors;
    if (units < 1 || sensors < 1 || count > MODBUS_MAX_READ_REGISTERS || seconds <= 0) {
        fprintf(stderr, "modbus_loop: need UNITS >= 1, 1 <= SENSORS <= %d, SECONDS > 0\n", MODBUS_MAX_READ_REGISTERS / 2);
        return 2;
    }
    modbus_t *ctx = modbus_new_tcp_pi(host, port);
    if (ctx == NULL) {
        fprintf(stderr, "modbus_loop: modbus_new_tcp_pi: %s\n", modbus_strerror(errno));
        return 1;
    }
    if (modbus_connect(ctx) == -1) {
        fprintf(stderr, "modbus_loop: connect %s:%s: %s\n", host, port, modbus_strerror(errno));
        modbus_free(ctx);
        return 1;
    }
    uint16_t registers[MODBUS_MAX_READ_REGISTERS];
    volatile double sink = 0;
    long long requests = 0, readings = 0, errors = 0;
    long long cpu0 = cpu_us(), start = now_us();
    long long deadline = start + (long long)(seconds * 1e6);
    while (now_us() < deadline) {
        for (int unit = 1; unit <= units; unit++) {
            if (modbus_set_slave(ctx, unit) == -1) { errors++; continue; }
            int rc = modbus_read_registers(ctx, 0, count, registers);
            requests++;
            if (rc != count) { errors++; continue; }
            for (int s = 0; s < sensors; s++) {
                uint32_t bits = ((uint32_t)registers[2 * s] << 16) | registers[2 * s + 1];
                float f;
                memcpy(&f, &bits, sizeof f);
                sink = sink + (double)f;
                readings++;
            }
        }
    }
    long long wall = now_us() - start, cpu = cpu_us() - cpu0;
    printf("requests %lld readings %lld wall_us %lld cpu_us %lld errors %lld\n", requests, readings, wall, cpu, errors);
    modbus_close(ctx);
    modbus_free(ctx);
    return 0;
}
