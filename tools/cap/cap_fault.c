/*
 * cap_fault.c — an applet failure in words (cap_fault.h).
 */
#include <stdio.h>
#include <string.h>

#include "cap_fault.h"

static const char *entry_name(unsigned entry)
{
    static const char *const names[] = { "install()", "select()", "deselect()", "process()",
                                         "a static entry point" };
    return entry < sizeof names / sizeof names[0] ? names[entry] : "an applet method";
}

static void print_aid(FILE *f, const uint8_t *aid, unsigned len)
{
    for (unsigned i = 0; i < len; i++)
        fprintf(f, "%02X", aid[i]);
}

static void print_frame(FILE *f, const char *prefix, const vm_fault_frame *fr, const cap_debug *d, int loop)
{
    const cap_debug_method *m = cap_debug_method_at(d, fr->pkg_aid, fr->pkg_aid_len, fr->method);
    fprintf(f, "%s  %s ", prefix, loop ? "loop at" : "at");
    if (m) {
        fprintf(f, "%s.%s%s pc %u", m->class_name ? m->class_name : "?", m->name ? m->name : "?",
                m->descriptor ? m->descriptor : "", fr->pc);
        unsigned line = cap_debug_line_at(m, fr->pc);
        if (line && m->source)
            fprintf(f, " (%s:%u)", m->source, line);
        fprintf(f, " [package ");
        print_aid(f, fr->pkg_aid, fr->pkg_aid_len);
        fprintf(f, " method 0x%04X]\n", fr->method);
    } else {
        fprintf(f, "package ");
        print_aid(f, fr->pkg_aid, fr->pkg_aid_len);
        fprintf(f, " method 0x%04X pc %u\n", fr->method, fr->pc);
    }
}

void cap_fault_print(FILE *f, const char *prefix, const vm_fault *v, const cap_debug *d)
{
    const char *entry = entry_name(v->entry);
    switch (v->kind) {
    case VM_FAULT_NO_REGISTER:
        fprintf(f, "%sinstall() returned without calling register(): no instance -> SW %04X\n", prefix, v->sw);
        return;
    case VM_FAULT_BUDGET:
        fprintf(f, "%s%s ran out of its bytecode budget (an endless loop?) -> SW %04X\n", prefix, entry, v->sw);
        break;
    default:
        if (!strcmp(v->exc_class, "javacard/framework/ISOException") && v->has_reason) {
            /* the applet's way of answering a status word: where it came from */
            fprintf(f, "%s%s ended with ISOException.throwIt(0x%04X) -> SW %04X\n", prefix, entry, v->reason,
                    v->sw);
            break;
        }
        fprintf(f, "%s%s ended with uncaught ", prefix, entry);
        if (v->exc_class[0]) {
            fputs(v->exc_class, f);
        } else {
            const cap_debug_class *c = cap_debug_class_at(d, v->exc_pkg_aid, v->exc_pkg_aid_len, v->exc_class_offset);
            if (c && c->name) {
                fputs(c->name, f);
            } else {
                fprintf(f, "class 0x%04X of package ", v->exc_class_offset);
                print_aid(f, v->exc_pkg_aid, v->exc_pkg_aid_len);
            }
        }
        if (v->has_reason)
            fprintf(f, " reason 0x%04X", v->reason);
        fprintf(f, " -> SW %04X\n", v->sw);
        break;
    }
    for (unsigned i = 0; i < v->n_frames; i++)
        print_frame(f, prefix, &v->frames[i], d, v->kind == VM_FAULT_BUDGET && i == 0);
    if (v->truncated)
        fprintf(f, "%s  ... (deeper frames not kept)\n", prefix);
}
