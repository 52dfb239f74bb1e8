/*
 * vmtest.h — helpers shared by the VM tests: a chip-backed card (chip +
 * vm_runtime, image in a temporary directory), JCA assembled into a CAP load
 * file, the example applets' CAP files and APDU helpers.
 */
#ifndef CARDVM_TEST_VMTEST_H
#define CARDVM_TEST_VMTEST_H

#include <stddef.h>
#include <stdint.h>

#include "chip.h"
#include "vm.h"

typedef struct vt_card {
    chip *c;
    vm_runtime *rt;
    char dir[256];
    char path[300];
} vt_card;

/* A fresh card (default geometry) whose image lives in a new temp dir. */
void vt_card_new(vt_card *k, const vm_config *cfg);
/* Close what is open and remove the image and its temp dir. */
void vt_card_free(vt_card *k);
/* The first step of vt_card_new: the image created in a new temp dir, in
 * its masking phase, no VM yet (a test that masks ROM continues here). */
void vt_image_new(vt_card *k);
/* Open the image from its file and power on, no VM yet. */
void vt_image_open(vt_card *k);
/* Destroy the VM and close the image, keeping its file. */
void vt_close(vt_card *k);
/* Commit like the card does after each APDU. */
void vt_commit(vt_card *k);
/* Power cycle: chip_power_on + vm_reset. */
void vt_reset(vt_card *k);
/* Commit, close everything, reopen the image from its file. */
void vt_reopen(vt_card *k, const vm_config *cfg);

/* Assemble JCA text (docs/jca.md) into the load file a card receives (the
 * CAP components in load order, no Debug), or fail the test naming
 * `filename` and the line. */
void vt_jca(const char *src, const char *filename, uint8_t **blob, size_t *len);
/* The load file of an example applet's CAP as the build made it with
 * `cardvm asm` (build/examples/applets/NAME.cap from
 * examples/applets/NAME/NAME.jca); fails the test when it cannot be read. */
uint8_t *vt_example(const char *name, size_t *len);
/* The install bArray the JCRE passes install() for a GP INSTALL [for
 * install]: instance AID, privileges (one byte, 00), application
 * parameters (length + bytes). Returns its length. */
size_t vt_barray(const uint8_t *instance, uint8_t instance_len, const uint8_t *params, uint8_t params_len,
                 uint8_t *out, size_t cap);

/* Load a package (vm_load_package with flags) or fail the test naming
 * `what`; no commit. The _jca and _example forms assemble or read it
 * first (vt_jca, vt_example). */
void vt_load(vt_card *k, const uint8_t *blob, size_t len, unsigned flags, const char *what);
void vt_load_jca(vt_card *k, const char *src, const char *filename, unsigned flags);
void vt_load_example(vt_card *k, const char *name);
/* vm_install with the install bArray made by vt_barray (no privileges):
 * the VM's status; the applet's SW in *sw. */
int vt_install(vt_card *k, const uint8_t *pkg, uint8_t pkg_len, const uint8_t *cls, uint8_t cls_len,
               const uint8_t *inst, uint8_t inst_len, const uint8_t *params, uint8_t params_len, uint16_t *sw);
/* vm_invoke of exported static method `method` (class token << 8 | method
 * token) of package aid, then a commit. Returns the SW, response in resp
 * (258 bytes at least). The call must succeed unless rc is given, which
 * then receives vm_invoke's status. */
uint16_t vt_invoke(vt_card *k, const uint8_t *aid, size_t aid_len, uint16_t method, const uint8_t *apdu,
                   size_t len, uint8_t *resp, size_t *rlen, int *rc);

/* The JCA text (docs/jca.md) most test packages share: the imports of
 * javacard.framework 1.3 (index 0) and java.lang 1.0 (index 1), and the
 * method tables of a class extending Object or Applet directly. */
#define VT_JCA_IMPORT_FRAMEWORK_LANG                                                                  \
    "  0xA0:0x0:0x0:0x0:0x62:0x1:0x1 1.3;\n"                                                          \
    "  0xA0:0x0:0x0:0x0:0x62:0x0:0x1 1.0;\n"
/* The first three constant-pool entries of the test packages that answer
 * through the APDU: 0 APDU.getBuffer, 1 APDU.setOutgoingAndSend,
 * 2 Util.setShort. */
#define VT_JCA_CP_APDU_IO                                                                             \
    "  virtualMethodRef 0.10.1()[B;\n"                                                                \
    "  virtualMethodRef 0.10.8(SS)V;\n"                                                               \
    "  staticMethodRef 0.16.6([BSS)S;\n"
#define VT_JCA_OBJECT_METHOD_TABLES                                                                   \
    "  .publicMethodTable 1 {\n"                                                                      \
    "   equals(Ljava/lang/Object;)Z;\n"                                                               \
    "  }\n"                                                                                           \
    "  .packageMethodTable 0 {\n"                                                                     \
    "  }\n"
#define VT_JCA_APPLET_METHOD_TABLES                                                                   \
    "  .publicMethodTable 7 {\n"                                                                      \
    "   equals(Ljava/lang/Object;)Z;\n"                                                               \
    "   register()V;\n"                                                                               \
    "   register([BSB)V;\n"                                                                           \
    "   selectingApplet()Z;\n"                                                                        \
    "   deselect()V;\n"                                                                               \
    "   getShareableInterfaceObject(Ljavacard/framework/AID;B)Ljavacard/framework/Shareable;;\n"      \
    "   select()Z;\n"                                                                                 \
    "   process(Ljavacard/framework/APDU;)V;\n"                                                       \
    "  }\n"                                                                                           \
    "  .packageMethodTable 0 {\n"                                                                     \
    "  }\n"

/* The end of a test package's main(APDU) whose body leaves a short on the
 * stack: the short stored in local 1, written into the APDU buffer (local
 * 2) by Util.setShort and sent (VT_JCA_CP_APDU_IO's entries 0..2). */
#define VT_JCA_MAIN_ANSWER                                                                            \
    "sstore_1;aload_0;invokevirtual 0;astore_2;aload_2;sconst_0;sload_1;invokestatic 2;pop;"          \
    "aload_0;sconst_0;sconst_2;invokevirtual 1;return;"

/* JCA statements "a;b;" appended to out as "a;\nb;\n" (the test bodies are
 * written one line each). */
void vt_put_statements(char *out, size_t cap, const char *s);

/* Parse hex (spaces allowed) into out; returns the byte count or -1. */
int vt_hex(const char *s, uint8_t *out, size_t cap);

/* Send one command the way the card would (SELECT by AID goes to
 * vm_select); commits afterwards. Returns the SW; response in resp (258
 * bytes at least). */
uint16_t vt_send(vt_card *k, const uint8_t *apdu, size_t len, uint8_t *resp, size_t *rlen);
/* The same without failing the test, for tests that cut the power: the
 * VM's status (VM_ERR_POWER also when the commit after it failed), the SW
 * in *sw. */
int vt_transmit(vt_card *k, const uint8_t *apdu, size_t len, uint8_t *resp, size_t *rlen, uint16_t *sw);
/* For the tearing tests' run and check steps: the SW of a command given
 * in hex, or 0 when the power was cut during it or its commit (the card
 * answers nothing). */
uint16_t vt_send_hex_or_cut(vt_card *k, const char *hex, uint8_t *resp, size_t *rlen);
uint16_t vt_send_hex(vt_card *k, const char *hex, uint8_t *resp, size_t *rlen);

/* A copy of the NVM working image, to prove "no change". */
uint8_t *vt_nvm_snapshot(vt_card *k);
int vt_nvm_same(vt_card *k, const uint8_t *snap);

#endif
