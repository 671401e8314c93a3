// mixlane SoC simulator: loads a program image into RAM, runs the core until the program exits, traps,
// touches an unmapped address or exceeds a cycle budget. Program output goes to stdout; the outcome is one
// line of key=value pairs in the status file.
//   usage: soc_sim PROGRAM.bin MAX_CYCLES STATUS_FILE
//
// Two models: the SoC (Vsoc: core, RAM, console; CFU port out) and the extension (Vcfu). The extension is
// clocked only while it is busy or a command is offered; while it is idle a clock edge cannot change it, so
// skipping it is exact. Built with -DMLX_NO_CFU: no extension, every custom instruction answers 0.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
#include "Vsoc.h"
#include "Vsoc___024root.h"
#include "Vsoc__Syms.h"
#ifndef MLX_NO_CFU
#include "Vcfu.h"
#endif
#include "verilated.h"

// Port cfu__x of the generated Verilog (Verilator escapes the double underscore).
#define CFU(x) cfu___05F##x

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
    Vsoc soc(&ctx, "soc");
#ifndef MLX_NO_CFU
    Vcfu cfu(&ctx, "cfu");
    // offer the core's command to the extension and its answer to the core, until both sides are settled
    bool unsettled = false;
    auto exchange = [&]() {
        for (int k = 0; k < 4; ++k) {
            cfu.CFU(cmd_valid) = soc.CFU(cmd_valid);
            cfu.CFU(cmd_function_id) = soc.CFU(cmd_function_id);
            cfu.CFU(cmd_inputs_0) = soc.CFU(cmd_inputs_0);
            cfu.CFU(cmd_inputs_1) = soc.CFU(cmd_inputs_1);
            cfu.CFU(rsp_ready) = soc.CFU(rsp_ready);
            cfu.eval();
            const bool same = soc.CFU(cmd_ready) == cfu.CFU(cmd_ready) && soc.CFU(rsp_valid) == cfu.CFU(rsp_valid) &&
                              soc.CFU(rsp_outputs_0) == cfu.CFU(rsp_outputs_0);
            soc.CFU(cmd_ready) = cfu.CFU(cmd_ready);
            soc.CFU(rsp_valid) = cfu.CFU(rsp_valid);
            soc.CFU(rsp_outputs_0) = cfu.CFU(rsp_outputs_0);
            if (same) return;
            soc.eval();
        }
        unsettled = true;     // a combinational loop through the CFU port: the run is not trustworthy
    };
    auto tick = [&]() {
        const bool active = soc.CFU(cmd_valid) || !cfu.idle;
        if (active) exchange();
        soc.clk = 1; soc.eval();
        if (active) { cfu.clk = 1; cfu.eval(); cfu.clk = 0; cfu.eval(); }
        soc.clk = 0; soc.eval();
        if (active) exchange();
    };
    cfu.clk = 0; cfu.rst = 1; cfu.eval();
    for (int i = 0; i < 4; ++i) { cfu.clk = 1; cfu.eval(); cfu.clk = 0; cfu.eval(); }
    cfu.rst = 0; cfu.eval();
    soc.CFU(cmd_ready) = cfu.CFU(cmd_ready);
    soc.CFU(rsp_valid) = cfu.CFU(rsp_valid);
#else
    auto tick = [&]() {     // no extension: accept at once, answer 0 the next cycle
        const bool fire = soc.CFU(cmd_valid) && soc.CFU(cmd_ready);
        soc.clk = 1; soc.eval();
        soc.CFU(rsp_valid) = fire || (soc.CFU(rsp_valid) && !soc.CFU(rsp_ready));
        soc.CFU(rsp_outputs_0) = 0;
        soc.CFU(cmd_ready) = !soc.CFU(rsp_valid) || soc.CFU(rsp_ready);
        soc.clk = 0; soc.eval();
    };
    soc.CFU(cmd_ready) = 1;
#endif
    soc.clk = 0; soc.rst = 1; soc.eval();
    for (size_t i = 0; i < image.size(); i += 4) {      // backdoor load while the core is in reset
        soc.load_valid = 1;
        soc.load_addr = (uint32_t)(i / 4);
        soc.load_data = image[i] | image[i + 1] << 8 | image[i + 2] << 16 | (uint32_t)image[i + 3] << 24;
        soc.clk = 1; soc.eval(); soc.clk = 0; soc.eval();
    }
    soc.load_valid = 0;
    for (int i = 0; i < 8; ++i) { soc.clk = 1; soc.eval(); soc.clk = 0; soc.eval(); }
    soc.rst = 0; soc.eval();

    unsigned long long cycles = 0;
    const char *status = "timeout";
    while (cycles < max_cycles) {       // outputs are settled after each tick's falling-edge eval
        if (soc.console_valid) std::fputc(soc.console_data, stdout);
        tick();
        ++cycles;
        if (soc.exit_valid) { status = "exit"; break; }
        if (soc.trap_valid) { status = "trap"; break; }
        if (soc.buserr_valid) { status = "buserr"; break; }
#ifndef MLX_NO_CFU
        if (unsettled) { status = "unsettled"; break; }
#endif
    }
    std::fflush(stdout);
    const auto &core = soc.rootp->vlSymsp->TOP__mixlane_soc__core;
    // the instruction in the memory stage made the data access; the last one retired otherwise
    const uint32_t pc = std::string(status) == "buserr" ? core.execute_to_memory_PC : core.memory_to_writeBack_PC;
    FILE *s = std::fopen(argv[3], "w");
    if (!s) { std::perror(argv[3]); return 2; }
    std::fprintf(s, "status=%s code=%d cycles=%llu pc=0x%08x cause=%u epc=0x%08x tval=0x%08x addr=0x%08x write=%d\n",
                 status, (int32_t)soc.exit_code, cycles, pc, soc.trap_cause, soc.trap_epc, soc.trap_tval,
                 soc.buserr_addr, (int)soc.buserr_write);
    std::fclose(s);
    soc.final();
#ifndef MLX_NO_CFU
    cfu.final();
#endif
    return 0;
}
