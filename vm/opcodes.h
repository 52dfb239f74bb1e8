/*
 * opcodes.h — the Java Card VM instruction set as cardvm knows it.
 *
 * Every instruction has its JCVM opcode number and semantics (Java Card
 * Platform Virtual Machine Specification, Classic Edition 3.0.5, ch. 7).
 * Only the instructions listed here exist; every other byte value is an
 * unknown opcode, refused by the verifier. The `int` instructions (iadd,
 * iload, ...) are deliberately absent: cardvm is a 16-bit Java Card
 * platform, where `int` is optional (docs/vm.md, "Machine model").
 *
 * One line per instruction:
 *   X(name, opcode, operand format, pops, pushes)
 * `pops`/`pushes` count 16-bit stack words; VAR means "depends on the
 * operands" (dup_x, swap_x, invocations, returns) and is handled by name.
 * The table drives the verifier (vm/cap_verify_code.c), the translator
 * (vm/cap_xlat.c) and the JCA assembler and disassembler (tools/jca/), so
 * they can never disagree about an instruction's length.
 */
#ifndef CARDVM_VM_OPCODES_H
#define CARDVM_VM_OPCODES_H

#include <stdint.h>

/* Operand formats. The comment gives the bytes that follow the opcode. */
enum vm_opf {
    OPF_NONE,    /* -                                                   */
    OPF_S1,      /* s1: signed byte immediate (bspush)                  */
    OPF_S2,      /* s2: signed short immediate, big-endian (sspush)     */
    OPF_LOCAL,   /* u1: local variable index                            */
    OPF_CP1,     /* u1: constant pool index                             */
    OPF_CP2,     /* u2: constant pool index                             */
    OPF_BR1,     /* s1: branch offset from the opcode's address         */
    OPF_BR2,     /* s2: branch offset from the opcode's address         */
    OPF_SINC,    /* u1 local index, s1 increment                        */
    OPF_SINCW,   /* u1 local index, s2 increment                        */
    OPF_MN,      /* u1: high nibble m, low nibble n (dup_x, swap_x)     */
    OPF_ATYPE,   /* u1: array element type 10 boolean 11 byte 12 short  */
    OPF_CAST,    /* u1 atype (0 class, 10-12 primitive array, 14 class
                    array), u2 constant pool index (0 for primitives)   */
    OPF_TSWITCH, /* s2 default, s2 low, s2 high, (high-low+1) x s2      */
    OPF_LSWITCH, /* s2 default, u2 npairs, npairs x (s2 match, s2 off)  */
    OPF_IFACE,   /* u1 nargs, u2 constant pool index, u1 method token   */
};

#define VAR (-1)

#define VM_OPCODES(X)                                  \
    X(nop,            0x00, OPF_NONE,    0, 0)         \
    X(aconst_null,    0x01, OPF_NONE,    0, 1)         \
    X(sconst_m1,      0x02, OPF_NONE,    0, 1)         \
    X(sconst_0,       0x03, OPF_NONE,    0, 1)         \
    X(sconst_1,       0x04, OPF_NONE,    0, 1)         \
    X(sconst_2,       0x05, OPF_NONE,    0, 1)         \
    X(sconst_3,       0x06, OPF_NONE,    0, 1)         \
    X(sconst_4,       0x07, OPF_NONE,    0, 1)         \
    X(sconst_5,       0x08, OPF_NONE,    0, 1)         \
    X(bspush,         0x10, OPF_S1,      0, 1)         \
    X(sspush,         0x11, OPF_S2,      0, 1)         \
    X(aload,          0x15, OPF_LOCAL,   0, 1)         \
    X(sload,          0x16, OPF_LOCAL,   0, 1)         \
    X(aload_0,        0x18, OPF_NONE,    0, 1)         \
    X(aload_1,        0x19, OPF_NONE,    0, 1)         \
    X(aload_2,        0x1A, OPF_NONE,    0, 1)         \
    X(aload_3,        0x1B, OPF_NONE,    0, 1)         \
    X(sload_0,        0x1C, OPF_NONE,    0, 1)         \
    X(sload_1,        0x1D, OPF_NONE,    0, 1)         \
    X(sload_2,        0x1E, OPF_NONE,    0, 1)         \
    X(sload_3,        0x1F, OPF_NONE,    0, 1)         \
    X(aaload,         0x24, OPF_NONE,    2, 1)         \
    X(baload,         0x25, OPF_NONE,    2, 1)         \
    X(saload,         0x26, OPF_NONE,    2, 1)         \
    X(astore,         0x28, OPF_LOCAL,   1, 0)         \
    X(sstore,         0x29, OPF_LOCAL,   1, 0)         \
    X(astore_0,       0x2B, OPF_NONE,    1, 0)         \
    X(astore_1,       0x2C, OPF_NONE,    1, 0)         \
    X(astore_2,       0x2D, OPF_NONE,    1, 0)         \
    X(astore_3,       0x2E, OPF_NONE,    1, 0)         \
    X(sstore_0,       0x2F, OPF_NONE,    1, 0)         \
    X(sstore_1,       0x30, OPF_NONE,    1, 0)         \
    X(sstore_2,       0x31, OPF_NONE,    1, 0)         \
    X(sstore_3,       0x32, OPF_NONE,    1, 0)         \
    X(aastore,        0x37, OPF_NONE,    3, 0)         \
    X(bastore,        0x38, OPF_NONE,    3, 0)         \
    X(sastore,        0x39, OPF_NONE,    3, 0)         \
    X(pop,            0x3B, OPF_NONE,    1, 0)         \
    X(pop2,           0x3C, OPF_NONE,    2, 0)         \
    X(dup,            0x3D, OPF_NONE,    1, 2)         \
    X(dup2,           0x3E, OPF_NONE,    2, 4)         \
    X(dup_x,          0x3F, OPF_MN,      VAR, VAR)     \
    X(swap_x,         0x40, OPF_MN,      VAR, VAR)     \
    X(sadd,           0x41, OPF_NONE,    2, 1)         \
    X(ssub,           0x43, OPF_NONE,    2, 1)         \
    X(smul,           0x45, OPF_NONE,    2, 1)         \
    X(sdiv,           0x47, OPF_NONE,    2, 1)         \
    X(srem,           0x49, OPF_NONE,    2, 1)         \
    X(sneg,           0x4B, OPF_NONE,    1, 1)         \
    X(sshl,           0x4D, OPF_NONE,    2, 1)         \
    X(sshr,           0x4F, OPF_NONE,    2, 1)         \
    X(sushr,          0x51, OPF_NONE,    2, 1)         \
    X(sand,           0x53, OPF_NONE,    2, 1)         \
    X(sor,            0x55, OPF_NONE,    2, 1)         \
    X(sxor,           0x57, OPF_NONE,    2, 1)         \
    X(sinc,           0x59, OPF_SINC,    0, 0)         \
    X(s2b,            0x5B, OPF_NONE,    1, 1)         \
    X(ifeq,           0x60, OPF_BR1,     1, 0)         \
    X(ifne,           0x61, OPF_BR1,     1, 0)         \
    X(iflt,           0x62, OPF_BR1,     1, 0)         \
    X(ifge,           0x63, OPF_BR1,     1, 0)         \
    X(ifgt,           0x64, OPF_BR1,     1, 0)         \
    X(ifle,           0x65, OPF_BR1,     1, 0)         \
    X(ifnull,         0x66, OPF_BR1,     1, 0)         \
    X(ifnonnull,      0x67, OPF_BR1,     1, 0)         \
    X(if_acmpeq,      0x68, OPF_BR1,     2, 0)         \
    X(if_acmpne,      0x69, OPF_BR1,     2, 0)         \
    X(if_scmpeq,      0x6A, OPF_BR1,     2, 0)         \
    X(if_scmpne,      0x6B, OPF_BR1,     2, 0)         \
    X(if_scmplt,      0x6C, OPF_BR1,     2, 0)         \
    X(if_scmpge,      0x6D, OPF_BR1,     2, 0)         \
    X(if_scmpgt,      0x6E, OPF_BR1,     2, 0)         \
    X(if_scmple,      0x6F, OPF_BR1,     2, 0)         \
    X(goto,           0x70, OPF_BR1,     0, 0)         \
    X(stableswitch,   0x73, OPF_TSWITCH, 1, 0)         \
    X(slookupswitch,  0x75, OPF_LSWITCH, 1, 0)         \
    X(areturn,        0x77, OPF_NONE,    1, 0)         \
    X(sreturn,        0x78, OPF_NONE,    1, 0)         \
    X(return,         0x7A, OPF_NONE,    0, 0)         \
    X(getstatic_a,    0x7B, OPF_CP2,     0, 1)         \
    X(getstatic_b,    0x7C, OPF_CP2,     0, 1)         \
    X(getstatic_s,    0x7D, OPF_CP2,     0, 1)         \
    X(putstatic_a,    0x7F, OPF_CP2,     1, 0)         \
    X(putstatic_b,    0x80, OPF_CP2,     1, 0)         \
    X(putstatic_s,    0x81, OPF_CP2,     1, 0)         \
    X(getfield_a,     0x83, OPF_CP1,     1, 1)         \
    X(getfield_b,     0x84, OPF_CP1,     1, 1)         \
    X(getfield_s,     0x85, OPF_CP1,     1, 1)         \
    X(putfield_a,     0x87, OPF_CP1,     2, 0)         \
    X(putfield_b,     0x88, OPF_CP1,     2, 0)         \
    X(putfield_s,     0x89, OPF_CP1,     2, 0)         \
    X(invokevirtual,  0x8B, OPF_CP2,     VAR, VAR)     \
    X(invokespecial,  0x8C, OPF_CP2,     VAR, VAR)     \
    X(invokestatic,   0x8D, OPF_CP2,     VAR, VAR)     \
    X(new,            0x8F, OPF_CP2,     0, 1)         \
    X(newarray,       0x90, OPF_ATYPE,   1, 1)         \
    X(anewarray,      0x91, OPF_CP2,     1, 1)         \
    X(arraylength,    0x92, OPF_NONE,    1, 1)         \
    X(athrow,         0x93, OPF_NONE,    1, 0)         \
    X(checkcast,      0x94, OPF_CAST,    1, 1)         \
    X(instanceof,     0x95, OPF_CAST,    1, 1)         \
    X(sinc_w,         0x96, OPF_SINCW,   0, 0)         \
    X(ifeq_w,         0x98, OPF_BR2,     1, 0)         \
    X(ifne_w,         0x99, OPF_BR2,     1, 0)         \
    X(iflt_w,         0x9A, OPF_BR2,     1, 0)         \
    X(ifge_w,         0x9B, OPF_BR2,     1, 0)         \
    X(ifgt_w,         0x9C, OPF_BR2,     1, 0)         \
    X(ifle_w,         0x9D, OPF_BR2,     1, 0)         \
    X(ifnull_w,       0x9E, OPF_BR2,     1, 0)         \
    X(ifnonnull_w,    0x9F, OPF_BR2,     1, 0)         \
    X(if_acmpeq_w,    0xA0, OPF_BR2,     2, 0)         \
    X(if_acmpne_w,    0xA1, OPF_BR2,     2, 0)         \
    X(if_scmpeq_w,    0xA2, OPF_BR2,     2, 0)         \
    X(if_scmpne_w,    0xA3, OPF_BR2,     2, 0)         \
    X(if_scmplt_w,    0xA4, OPF_BR2,     2, 0)         \
    X(if_scmpge_w,    0xA5, OPF_BR2,     2, 0)         \
    X(if_scmpgt_w,    0xA6, OPF_BR2,     2, 0)         \
    X(if_scmple_w,    0xA7, OPF_BR2,     2, 0)         \
    X(goto_w,         0xA8, OPF_BR2,     0, 0)         \
    X(getfield_a_w,   0xA9, OPF_CP2,     1, 1)         \
    X(getfield_b_w,   0xAA, OPF_CP2,     1, 1)         \
    X(getfield_s_w,   0xAB, OPF_CP2,     1, 1)         \
    X(getfield_a_this,0xAD, OPF_CP1,     0, 1)         \
    X(getfield_b_this,0xAE, OPF_CP1,     0, 1)         \
    X(getfield_s_this,0xAF, OPF_CP1,     0, 1)         \
    X(putfield_a_w,   0xB1, OPF_CP2,     2, 0)         \
    X(putfield_b_w,   0xB2, OPF_CP2,     2, 0)         \
    X(putfield_s_w,   0xB3, OPF_CP2,     2, 0)         \
    X(putfield_a_this,0xB5, OPF_CP1,     1, 0)         \
    X(putfield_b_this,0xB6, OPF_CP1,     1, 0)         \
    X(putfield_s_this,0xB7, OPF_CP1,     1, 0)

/* Instructions whose operands the generic table cannot describe: they
 * stay out of VM_OPCODES and of vm_opinfo_table (the verifier and the
 * translator handle them by opcode): same columns. The JCA assembler and
 * disassembler (tools/jca/) read both tables. */
#define VM_CAP_ONLY_OPCODES(X)                         \
    X(invokeinterface, 0x8E, OPF_IFACE,  VAR, VAR)

enum vm_opcode {
#define VM_OP_ENUM(name, code, fmt, pop, push) OP_##name = code,
    VM_OPCODES(VM_OP_ENUM)
#undef VM_OP_ENUM
};

/* Per-opcode description, indexed by opcode byte. name == NULL: unknown. */
typedef struct vm_opinfo {
    const char *name;
    uint8_t fmt;      /* enum vm_opf */
    int8_t pops;      /* VAR for operand-dependent */
    int8_t pushes;
} vm_opinfo;

extern const vm_opinfo vm_opinfo_table[256];

/* Array element types (newarray, checkcast), Java Card numbering. */
enum vm_atype {
    VM_T_CLASS = 0,       /* checkcast/instanceof: a class (cp index) */
    VM_T_BOOLEAN = 10,
    VM_T_BYTE = 11,
    VM_T_SHORT = 12,
    VM_T_INT = 13,        /* not supported (16-bit VM) */
    VM_T_REFERENCE = 14,  /* checkcast/instanceof: array of class refs */
};

/* Length in bytes of the instruction at code[pc] (opcode included), or 0
 * when it is unknown or runs past code_len. Valid for every format. */
uint32_t vm_insn_length(const uint8_t *code, uint32_t code_len, uint32_t pc);

#endif
