/*
 * bench_vm.c — VM speed against Lua 5.4 and native C (prints figures, never
 * fails). The same three programs run in each: a Fletcher-16 checksum over
 * 256 bytes, a bubble sort of 64 shorts, and a loop of 1000 method calls,
 * each repeated. For the VM the per-bytecode cost is also printed; host
 * instructions per bytecode come from run_callgrind.sh.
 *
 *   bench_vm [--vm-only] [--scale N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vm.h"
#include "vm_asm.h"

#ifndef BENCH_DIR
#define BENCH_DIR "."
#endif

static const char *PROGRAM =
    ".package A0000000FFBE01 1.0 applet\n"
    ".class B\n"
    /* each method: (APDU) -> reps from P1P2, result as 2 bytes */
    ".method fletcher static args=1\n"
    "    aload_0\n invokestatic APDU.getBuffer\n sconst_2\n invokestatic Util.getShort\n sstore_1\n"
    "    sspush 256\n sconst_1\n invokestatic JCSystem.makeTransientByteArray\n astore_2\n"
    "    sconst_0\n sstore_3\n"
    "fill: aload_2\n sload_3\n sload_3\n bspush 7\n smul\n sconst_3\n sadd\n bastore\n"
    "    sinc 3 1\n sload_3\n sspush 256\n if_scmplt fill\n"
    "rep: sconst_0\n sstore 4\n sconst_0\n sstore 5\n sconst_0\n sstore_3\n"
    "loop: sload 4\n aload_2\n sload_3\n baload\n sspush 255\n sand\n sadd\n sspush 255\n srem\n sstore 4\n"
    "    sload 5\n sload 4\n sadd\n sspush 255\n srem\n sstore 5\n"
    "    sinc 3 1\n sload_3\n sspush 256\n if_scmplt loop\n"
    "    sinc 1 -1\n sload_1\n ifgt rep\n"
    "    sload 5\n bspush 8\n sshl\n sload 4\n sor\n invokestatic B.answer\n return\n"
    ".end\n"
    ".method bubble static args=1\n"
    "    aload_0\n invokestatic APDU.getBuffer\n sconst_2\n invokestatic Util.getShort\n sstore_1\n"
    "    bspush 64\n sconst_1\n invokestatic JCSystem.makeTransientShortArray\n astore_2\n"
    "rep: sconst_0\n sstore_3\n"
    "fill: aload_2\n sload_3\n bspush 64\n sload_3\n ssub\n sastore\n sinc 3 1\n sload_3\n bspush 64\n if_scmplt fill\n"
    "    sconst_0\n sstore_3\n"
    "outer: sconst_0\n sstore 4\n"
    "inner: aload_2\n sload 4\n saload\n sstore 5\n aload_2\n sload 4\n sconst_1\n sadd\n saload\n sstore 6\n"
    "    sload 5\n sload 6\n if_scmple noswap\n"
    "    aload_2\n sload 4\n sload 6\n sastore\n aload_2\n sload 4\n sconst_1\n sadd\n sload 5\n sastore\n"
    "noswap: sinc 4 1\n sload 4\n bspush 63\n sload_3\n ssub\n if_scmplt inner\n"
    "    sinc 3 1\n sload_3\n bspush 63\n if_scmplt outer\n"
    "    sinc 1 -1\n sload_1\n ifgt rep\n"
    "    aload_2\n sconst_0\n saload\n aload_2\n bspush 63\n saload\n sadd\n invokestatic B.answer\n return\n"
    ".end\n"
    ".method calls static args=1\n"
    "    aload_0\n invokestatic APDU.getBuffer\n sconst_2\n invokestatic Util.getShort\n sstore_1\n"
    "    sconst_0\n sstore_2\n"
    "rep: sconst_0\n sstore_3\n"
    "loop: sload_2\n sload_3\n invokestatic B.add\n sstore_2\n sinc 3 1\n sload_3\n sspush 1000\n if_scmplt loop\n"
    "    sinc 1 -1\n sload_1\n ifgt rep\n"
    "    sload_2\n invokestatic B.answer\n return\n"
    ".end\n"
    ".method add static args=2 returns\n sload_0\n sload_1\n sadd\n sreturn\n.end\n"
    ".method answer static args=1\n"
    "    invokestatic JCSystem.getTransactionDepth\n pop\n"
    "    sload_0\n invokestatic ISOException.throwIt\n return\n"
    ".end\n";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- native C versions ---- */

static volatile unsigned sink;

__attribute__((noinline)) static unsigned c_fletcher(int reps)
{
    static unsigned char data[256];
    unsigned s1 = 0, s2 = 0;
    for (int i = 0; i < 256; i++)
        data[i] = (unsigned char)(i * 7 + 3);
    for (int r = 0; r < reps; r++) {
        s1 = s2 = 0;
        for (int i = 0; i < 256; i++) {
            s1 = (s1 + *(volatile unsigned char *)&data[i]) % 255;
            s2 = (s2 + s1) % 255;
        }
    }
    return s2 << 8 | s1;
}

__attribute__((noinline)) static unsigned c_bubble(int reps)
{
    static short a[64];
    for (int r = 0; r < reps; r++) {
        for (int i = 0; i < 64; i++)
            ((volatile short *)a)[i] = (short)(64 - i);
        for (int i = 0; i < 63; i++)
            for (int j = 0; j < 63 - i; j++)
                if (a[j] > a[j + 1]) {
                    short t = a[j];
                    a[j] = a[j + 1];
                    a[j + 1] = t;
                }
    }
    return (unsigned)(a[0] + a[63]);
}

__attribute__((noinline)) static short c_add(short a, short b)
{
    __asm__ volatile("");
    return (short)(a + b);
}

__attribute__((noinline)) static unsigned c_calls(int reps)
{
    short acc = 0;
    for (int r = 0; r < reps; r++)
        for (short i = 0; i < 1000; i++)
            acc = c_add(acc, i);
    return (unsigned short)acc;
}

/* ---- Lua ---- */

static double lua_time(const char *name, int reps, unsigned *result)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "lua5.4 %s/bench.lua %s %d 2>/dev/null", BENCH_DIR, name, reps);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    double t = -1;
    if (fscanf(p, "%lf %u", &t, result) != 2)
        t = -1;
    pclose(p);
    return t;
}

int main(int argc, char **argv)
{
    int vm_only = 0, scale = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--vm-only"))
            vm_only = 1;
        else if (!strcmp(argv[i], "--scale") && i + 1 < argc)
            scale = atoi(argv[++i]);
    }
    chip_geometry g;
    chip_geometry_default(&g);
    chip *c;
    vm_runtime *rt;
    if (chip_create(&g, NULL, &c) != CHIP_OK)
        return 1;
    chip_end_masking(c);
    chip_commit(c);
    chip_power_on(c);
    vm_config cfg;
    vm_config_default(&cfg);
    cfg.budget = 2000000000u;
    if (vm_create(c, &cfg, &rt) != VM_OK)
        return 1;
    uint8_t *blob;
    size_t len;
    char err[512];
    if (vm_asm(PROGRAM, strlen(PROGRAM), "bench", NULL, &blob, &len, err, sizeof err) != VM_OK ||
        vm_load_package(rt, blob, len, 0, err, sizeof err) != VM_OK) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    free(blob);
    static const uint8_t pkg[] = { 0xA0, 0, 0, 0, 0xFF, 0xBE, 0x01 };

    struct { const char *name; int reps; unsigned (*c)(int); } progs[] = {
        { "fletcher", 2000 * scale, c_fletcher },
        { "bubble", 500 * scale, c_bubble },
        { "calls", 2000 * scale, c_calls },
    };
    printf("%-9s %6s %10s %10s %10s %8s %8s %10s %8s\n", "program", "reps", "VM s", "Lua s", "C s", "VM/Lua",
           "VM/C", "bytecodes", "ns/bc");
    for (int i = 0; i < 3; i++) {
        uint8_t apdu[5] = { 0x80, 0x00, (uint8_t)(progs[i].reps >> 8), (uint8_t)progs[i].reps, 0x00 };
        uint8_t resp[300];
        size_t rlen;
        uint16_t sw = 0;
        double t0 = now();
        if (vm_invoke(rt, pkg, sizeof pkg, (uint16_t)i, apdu, sizeof apdu, resp, sizeof resp, &rlen, &sw) != VM_OK)
            return 1;
        double tvm = now() - t0;
        vm_stats st;
        vm_get_stats(rt, &st);
        if (vm_only) {
            printf("%-9s %6d %10.4f %10s %10s %8s %8s %10llu %8.2f  result %04X\n", progs[i].name, progs[i].reps,
                   tvm, "-", "-", "-", "-", (unsigned long long)st.last_bytecodes, tvm * 1e9 / (double)st.last_bytecodes,
                   sw);
            continue;
        }
        unsigned lres = 0;
        double tlua = lua_time(progs[i].name, progs[i].reps, &lres);
        t0 = now();
        unsigned cres = progs[i].c(progs[i].reps);
        double tc = now() - t0;
        sink = cres;
        printf("%-9s %6d %10.4f %10.4f %10.4f %8.2f %8.2f %10llu %8.2f", progs[i].name, progs[i].reps, tvm, tlua, tc,
               tlua > 0 ? tvm / tlua : 0.0, tc > 0 ? tvm / tc : 0.0, (unsigned long long)st.last_bytecodes,
               tvm * 1e9 / (double)st.last_bytecodes);
        printf("  results VM %04X Lua %04X C %04X\n", sw, lres & 0xFFFF, cres & 0xFFFF);
    }
    vm_destroy(rt);
    chip_close(c);
    return 0;
}
