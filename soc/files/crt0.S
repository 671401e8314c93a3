/* mixlane SoC start-up: stack, thread pointer (picolibc's errno), trap vector, the extension on, .bss cleared,
   main(), its return value to the exit register. */
    .section .text.start, "ax"
    .globl _start
_start:
    .option push
    .option norelax                /* gp itself must not be set relative to gp */
    la      gp, __global_pointer$
    .option pop
    la      sp, __stack_top
    la      tp, __tls_base
    la      t0, mlx_trap
    csrw    mtvec, t0
    li      t0, 0x80000000
    csrs    0xBC0, t0              /* CfuPlugin: custom-0 instructions trap as illegal until this bit is set */
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sw      zero, 0(t0)
    addi    t0, t0, 4
    j       1b
2:  li      a0, 0
    li      a1, 0
    call    main
    li      t0, 0xF0000000
    sw      a0, 4(t0)              /* exit register: ends the simulation with main's value */
3:  j       3b

    .align  4
mlx_trap:                          /* any exception: report mepc, mtval, mcause and stop */
    li      t0, 0xF0000000
    csrr    t1, mepc
    sw      t1, 12(t0)
    csrr    t1, mtval
    sw      t1, 16(t0)
    csrr    t1, mcause
    sw      t1, 8(t0)
4:  j       4b
