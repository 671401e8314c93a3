/* Cycles of the extension's instructions as the core sees them (docs/isa.md):
   mixlane soc run --preset default benchmarks/bench_isa.c --cycles */
#include <stdio.h>
#include <stdint.h>
#include "mixlane_cfu.h"
#include "mixlane_soc.h"

#define R4(...) __VA_ARGS__ __VA_ARGS__ __VA_ARGS__ __VA_ARGS__
#define R16(...) R4(__VA_ARGS__) R4(__VA_ARGS__) R4(__VA_ARGS__) R4(__VA_ARGS__)
#define R32(...) R16(__VA_ARGS__) R16(__VA_ARGS__)
#define PER 32          /* instances per loop iteration */
#define ITERS 16        /* loop iterations: N = 512 instances */

static uint32_t data[2 * PER * 2] __attribute__((aligned(16)));
static volatile uint32_t sink;

#define BENCH(name, ...) \
    static __attribute__((noinline)) uint32_t name(uint32_t iters) { \
        uint32_t t0 = mlx_cycles(); \
        for (uint32_t i = 0; i < iters; ++i) { __asm__ volatile("" ::: "memory"); R32(__VA_ARGS__) } \
        uint32_t t1 = mlx_cycles(); \
        return t1 - t0; }

BENCH(b_empty, __asm__ volatile("");)
BENCH(b_nop, __asm__ volatile("nop");)
BENCH(b_a_push, mlx_a_push(0x11111111u, 0x22222222u);)
BENCH(b_w_push, mlx_w_push(0x33333333u, 0x44444444u);)
BENCH(b_m_push, mlx_m_push(0x1u, 0x0u);)
BENCH(b_setptr, mlx_setptr(MLX_PTR_A, 0);)
BENCH(b_mac1, mlx_mac(0, 0, 0, 1);)
BENCH(b_mac4, mlx_mac(0, 0, 0, 4);)
BENCH(b_mac16, mlx_mac(0, 0, 0, 16);)
BENCH(b_load, mlx_load(0, 0);)
BENCH(b_read_load, mlx_read_load(0, 0);)
BENCH(b_read, mlx_read(0);)
BENCH(b_info, mlx_info(0);)
#define NOP4 __asm__ volatile("nop\n nop\n nop\n nop");
BENCH(b_nop4, NOP4)
BENCH(i_a_push, mlx_a_push(0x11111111u, 0x22222222u); NOP4)
BENCH(i_setptr, mlx_setptr(MLX_PTR_W, 0); NOP4)
BENCH(i_info, mlx_info(0); NOP4)
BENCH(i_mac0, mlx_mac(0, 0, 0, 0); NOP4)
BENCH(i_mac1, mlx_mac(0, 0, 0, 1); NOP4)
BENCH(i_mac4, mlx_mac(0, 0, 0, 4); NOP4)
BENCH(i_mac16, mlx_mac(0, 0, 0, 16); NOP4)
BENCH(i_load, mlx_load(0, 0); NOP4)
BENCH(i_read_load, mlx_read_load(0, 0); NOP4)
BENCH(i_read, mlx_read(0); NOP4)
BENCH(b_push_nop, mlx_a_push(0x11111111u, 0x22222222u); __asm__ volatile("nop");)
BENCH(b_mac0, mlx_mac(0, 0, 0, 0);)
BENCH(b_mac16_nops, mlx_mac(0, 0, 0, 16); R16(__asm__ volatile("nop");))
BENCH(b_read_dep, { uint32_t r_ = (uint32_t)mlx_read(0); __asm__ volatile("add %0, %0, %0" : "+r"(r_)); })
BENCH(b_read_ind, { uint32_t r_ = (uint32_t)mlx_read(0); __asm__ volatile("nop"); __asm__ volatile("nop"); __asm__ volatile("add %0, %0, %0" : "+r"(r_)); })
BENCH(b_info_dep, { uint32_t r_ = mlx_info(0); __asm__ volatile("add %0, %0, %0" : "+r"(r_)); })
BENCH(b_lw_dep, { const volatile uint32_t *p_ = data; uint32_t x_ = p_[0]; __asm__ volatile("add %0, %0, %0" : "+r"(x_)); })
BENCH(b_lw2, { const volatile uint32_t *p = data; uint32_t x = p[0], y = p[1]; __asm__ volatile("" :: "r"(x), "r"(y)); })
/* operands loaded from RAM: two lw + the push */
static __attribute__((noinline)) uint32_t b_lw_push(uint32_t iters) {
    uint32_t t0 = mlx_cycles();
    for (uint32_t i = 0; i < iters; ++i) {
        const volatile uint32_t *p = data;
#define LP(k) mlx_a_push(p[2 * (k)], p[2 * (k) + 1]);
        LP(0) LP(1) LP(2) LP(3) LP(4) LP(5) LP(6) LP(7) LP(8) LP(9) LP(10) LP(11) LP(12) LP(13) LP(14) LP(15)
        LP(16) LP(17) LP(18) LP(19) LP(20) LP(21) LP(22) LP(23) LP(24) LP(25) LP(26) LP(27) LP(28) LP(29) LP(30) LP(31)
    }
    return mlx_cycles() - t0;
}
/* read whose result is used at once (a dependent add) */
static __attribute__((noinline)) uint32_t b_read_use(uint32_t iters) {
    uint32_t s = 0, t0 = mlx_cycles();
    for (uint32_t i = 0; i < iters; ++i) { __asm__ volatile("" ::: "memory"); R32(s += (uint32_t)mlx_read(0);) }
    uint32_t t = mlx_cycles() - t0;
    sink = s;
    return t;
}
/* one 128-bit register pair from RAM into A and W (a plain C loop over chunks), then a mac of 1 */
static __attribute__((noinline)) uint32_t b_pair_mac(uint32_t iters) {
    uint32_t t0 = mlx_cycles();
    for (uint32_t i = 0; i < iters; ++i) {
        const uint32_t *a = data, *w = data + 4;
        mlx_setptr(MLX_PTR_A, 0); mlx_setptr(MLX_PTR_W, 0); mlx_setptr(MLX_PTR_M, 0);
        for (uint32_t k = 0; k < 2 * MLX_CHUNKS_A; k += 2) { mlx_a_push(a[k], a[k + 1]); mlx_w_push(w[k], w[k + 1]); }
        mlx_m_push(1, 0);
        mlx_mac(0, 0, 0, 1);
    }
    return mlx_cycles() - t0;
}
/* with resident operands: mac only */
static __attribute__((noinline)) uint32_t b_loop_empty(uint32_t iters) {
    uint32_t t0 = mlx_cycles();
    for (uint32_t i = 0; i < iters; ++i) __asm__ volatile("" ::: "memory");
    return mlx_cycles() - t0;
}
static __attribute__((noinline)) uint32_t b_printf(uint32_t v) {
    uint32_t t0 = mlx_cycles();
    printf("%08lx\n", (unsigned long)v);
    return mlx_cycles() - t0;
}
static __attribute__((noinline)) uint32_t b_puthex(uint32_t v) {
    uint32_t t0 = mlx_cycles();
    mlx_put_hex(v);
    return mlx_cycles() - t0;
}
static __attribute__((noinline)) uint32_t b_cycles(void) {
    uint32_t t0 = mlx_cycles();
    uint32_t t1 = mlx_cycles();
    return t1 - t0;
}

typedef uint32_t (*bench_fn)(uint32_t);
struct item { const char *name; bench_fn f; };

static uint32_t run(bench_fn f, uint32_t iters) { f(iters); return f(iters); }   /* second run: caches warm */

int main(void) {
    for (unsigned i = 0; i < sizeof data / 4; ++i) data[i] = 0x9e3779b9u * (i + 1);
    mlx_setptr(MLX_PTR_A, 0); mlx_setptr(MLX_PTR_W, 0); mlx_setptr(MLX_PTR_M, 0);
    for (int k = 0; k < 64; ++k) { mlx_a_push(data[k & 7], data[(k + 1) & 7]); mlx_a_push(data[(k+2) & 7], 0); }
    for (int k = 0; k < 64; ++k) { mlx_w_push(data[(k+3) & 7], data[(k + 5) & 7]); mlx_w_push(data[(k+6) & 7], 1); }
    for (int k = 0; k < 64; ++k) mlx_m_push(k % 3, 0);
    mlx_load(0, 0);
    static const struct item items[] = {
        {"nop", b_nop}, {"a_push", b_a_push}, {"w_push", b_w_push}, {"m_push", b_m_push}, {"setptr", b_setptr},
        {"mac1", b_mac1}, {"mac4", b_mac4}, {"mac16", b_mac16}, {"load", b_load}, {"read_load", b_read_load},
        {"read", b_read}, {"read+use", b_read_use}, {"info", b_info}, {"push+nop", b_push_nop}, {"4nop", b_nop4}, {"a_push+4nop", i_a_push}, {"setptr+4nop", i_setptr}, {"info+4nop", i_info}, {"mac0+4nop", i_mac0}, {"mac1+4nop", i_mac1}, {"mac4+4nop", i_mac4}, {"mac16+4nop", i_mac16}, {"load+4nop", i_load}, {"rd_ld+4nop", i_read_load}, {"read+4nop", i_read}, {"mac0", b_mac0}, {"mac16+16nop", b_mac16_nops}, {"read+dep add", b_read_dep}, {"read,2nop,add", b_read_ind}, {"info+dep add", b_info_dep}, {"lw+dep add", b_lw_dep}, {"2lw", b_lw2}, {"2lw+a_push", b_lw_push},
    };
    uint32_t e = run(b_empty, ITERS);
    uint32_t rows[sizeof items / sizeof items[0]];
    for (unsigned k = 0; k < sizeof items / sizeof items[0]; ++k) rows[k] = run(items[k].f, ITERS);
    uint32_t pm = run(b_pair_mac, 64), le = run(b_loop_empty, 64);
    uint32_t cyc = b_cycles();
    sink = mlx_info(5);
    uint32_t p0 = b_printf(0x1234abcd), p1 = b_printf(0xdeadbeef), h0 = b_puthex(0x1234abcd), h1 = b_puthex(0xdeadbeef);
    printf("N=%u instances per row; empty loop %lu cycles\n", ITERS * PER, (unsigned long)e);
    for (unsigned k = 0; k < sizeof items / sizeof items[0]; ++k) {
        uint32_t d = rows[k] - e;
        printf("%-12s total %6lu  net %6lu  per-insn x100 %5lu\n", items[k].name, (unsigned long)rows[k],
               (unsigned long)d, (unsigned long)(d * 100 / (ITERS * PER)));
    }
    printf("pair+mac loop x64: %lu, empty loop x64: %lu, per pair x100: %lu\n", (unsigned long)pm, (unsigned long)le,
           (unsigned long)((pm - le) * 100 / 64));
    printf("mlx_cycles back-to-back: %lu\n", (unsigned long)cyc);
    printf("printf line: %lu, %lu; mlx_put_hex: %lu, %lu\n", (unsigned long)p0, (unsigned long)p1, (unsigned long)h0,
           (unsigned long)h1);
    return 0;
}
