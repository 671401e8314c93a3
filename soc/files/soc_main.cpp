// mixlane SoC simulator: loads a program image into RAM, runs the core until the program exits, traps,
// touches an unmapped address or exceeds a cycle budget. Program output goes to stdout; the outcome is one
// line of key=value pairs in the status file.
//   usage: soc_sim PROGRAM.bin MAX_CYCLES STATUS_FILE
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "Vmixlane_soc.h"
#include "Vmixlane_soc___024root.h"
#include "Vmixlane_soc__Syms.h"
#include "verilated.h"

static const uint32_t kRamBase = 0x40000000u;

int main(int argc, char **argv) {
    if (argc != 4) { std::fprintf(stderr, "usage: %s PROGRAM.bin MAX_CYCLES STATUS_FILE\n", argv[0]); return 2; }
    FILE *f = std::fopen(argv[1], "rb");
    if (!f) { std::perror(argv[1]); return 2; }
    std::vector<uint8_t> image;
    for (int c; (c = std::fgetc(f)) != EOF;) image.push_back((uint8_t)c);
    std::fclose(f);
    while (image.size() % 4) image.push_back(0);
    const unsigned long long max_cycles = std::strtoull(argv[2], nullptr, 10);

    VerilatedContext ctx;
    Vmixlane_soc top(&ctx);
    auto tick = [&]() { top.clk = 1; top.eval(); top.clk = 0; top.eval(); };
    top.clk = 0; top.rst = 1; top.eval();
    for (size_t i = 0; i < image.size(); i += 4) {      // backdoor load while the core is in reset
        top.load_valid = 1;
        top.load_addr = (uint32_t)(i / 4);
        top.load_data = image[i] | image[i + 1] << 8 | image[i + 2] << 16 | (uint32_t)image[i + 3] << 24;
        tick();
    }
    top.load_valid = 0;
    for (int i = 0; i < 8; ++i) tick();
    top.rst = 0;

    unsigned long long cycles = 0;
    const char *status = "timeout";
    while (cycles < max_cycles) {
        top.eval();
        if (top.console_valid) std::fputc(top.console_data, stdout);
        tick();
        ++cycles;
        if (top.exit_valid) { status = "exit"; break; }
        if (top.trap_valid) { status = "trap"; break; }
        if (top.buserr_valid) { status = "buserr"; break; }
    }
    std::fflush(stdout);
    const uint32_t pc = top.rootp->vlSymsp->TOP__mixlane_soc__core.memory_to_writeBack_PC;
    FILE *s = std::fopen(argv[3], "w");
    if (!s) { std::perror(argv[3]); return 2; }
    std::fprintf(s, "status=%s code=%d cycles=%llu pc=0x%08x cause=%u epc=0x%08x tval=0x%08x addr=0x%08x write=%d\n",
                 status, (int32_t)top.exit_code, cycles, pc, top.trap_cause, top.trap_epc, top.trap_tval,
                 top.buserr_addr, (int)top.buserr_write);
    std::fclose(s);
    top.final();
    return 0;
}
