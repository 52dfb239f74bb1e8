/*
 * cap_fault.h — an applet failure as a trace reads it: the card's record
 * (vm.h, vm_fault: exception class and reason, the frames as package AID,
 * Method component offset and pc) with the names and source lines of the
 * CAPs' Debug components (cap_debug.h) where the host has them.
 *
 *   card: process() ended with uncaught java/lang/ArrayIndexOutOfBoundsException -> SW 6F00
 *   card:   at capwork/diag/DiagApplet.pick(S)B pc 5 (DiagApplet.java:41) [F0...01 method 0x0042]
 *   card:   at capwork/diag/DiagApplet.process(Ljavacard/framework/APDU;)V pc 28 (DiagApplet.java:30) [...]
 *
 * Without a Debug component a frame is only "at package AID method 0xMMMM
 * pc N". Host side only; the card client never sees any of this.
 */
#ifndef CARDVM_TOOLS_CAP_FAULT_H
#define CARDVM_TOOLS_CAP_FAULT_H

#include <stdio.h>

#include "cap_debug.h"
#include "vm.h"

/* Print the record, one line per fact, each line starting with `prefix`
 * ("card: "). d may be NULL. */
void cap_fault_print(FILE *f, const char *prefix, const vm_fault *fault, const cap_debug *d);

#endif
