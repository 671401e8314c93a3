/* mixlane SoC helpers: cycle counter, fast console output. */
#ifndef MIXLANE_SOC_H
#define MIXLANE_SOC_H
#include <stdint.h>

#define MLX_MMIO ((volatile uint32_t *)0xF0000000u)

/* Cycles since reset (CSR mcycle, low 32 bits: wraps after 2^32 cycles). */
static inline uint32_t mlx_cycles(void) { uint32_t c; __asm__ volatile("csrr %0, mcycle" : "=r"(c)); return c; }

static inline void mlx_putc(char c) { MLX_MMIO[0] = (uint8_t)c; }
static inline void mlx_puts(const char *s) { while (*s) mlx_putc(*s++); }
/* 8 hex digits and a newline: a few dozen cycles, where one printf line costs thousands. */
static inline void mlx_put_hex(uint32_t v) {
    for (int i = 28; i >= 0; i -= 4) mlx_putc("0123456789abcdef"[(v >> i) & 15]);
    mlx_putc('\n');
}
static inline void mlx_put_dec(int32_t v) {
    char buf[12]; int n = 0; uint32_t u = v < 0 ? -(uint32_t)v : (uint32_t)v;
    if (v < 0) mlx_putc('-');
    do { buf[n++] = (char)('0' + u % 10); u /= 10; } while (u);
    while (n) mlx_putc(buf[--n]);
}
#endif
