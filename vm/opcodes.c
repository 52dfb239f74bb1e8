/*
 * opcodes.c — the instruction table of opcodes.h, indexed by opcode, and
 * instruction lengths from it.
 */
#include "cap_format.h"   /* vm_be16 */
#include "opcodes.h"

const vm_opinfo vm_opinfo_table[256] = {
#define VM_OP_INFO(name, code, fmt, pop, push) [code] = { #name, fmt, pop, push },
    VM_OPCODES(VM_OP_INFO)
#undef VM_OP_INFO
};

uint32_t vm_insn_length(const uint8_t *code, uint32_t code_len, uint32_t pc)
{
    if (pc >= code_len)
        return 0;
    const vm_opinfo *oi = &vm_opinfo_table[code[pc]];
    if (!oi->name)
        return 0;
    uint32_t n;
    switch (oi->fmt) {
    case OPF_NONE: n = 1; break;
    case OPF_S1: case OPF_LOCAL: case OPF_CP1: case OPF_BR1:
    case OPF_MN: case OPF_ATYPE: n = 2; break;
    case OPF_S2: case OPF_CP2: case OPF_BR2: case OPF_SINC: n = 3; break;
    case OPF_SINCW: case OPF_CAST: n = 4; break;
    case OPF_TSWITCH: {
        if (pc + 7 > code_len)
            return 0;
        int16_t lo = (int16_t)vm_be16(code + pc + 3), hi = (int16_t)vm_be16(code + pc + 5);
        if (hi < lo)
            return 0;
        n = 7 + 2u * (uint32_t)(hi - lo + 1);
        break;
    }
    case OPF_LSWITCH: {
        if (pc + 5 > code_len)
            return 0;
        n = 5 + 4u * vm_be16(code + pc + 3);
        break;
    }
    default: return 0;
    }
    return pc + n <= code_len ? n : 0;
}
