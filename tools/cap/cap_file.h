/*
 * cap_file.h — a CAP file read on the host: the zip a Java Card converter
 * writes, turned into the GlobalPlatform load file the card receives.
 *
 * A CAP file is a zip (jar) with one file per component under
 * `<package path>/javacard/` (JCVM 3.0.5 §6.1): Header.cap, Directory.cap,
 * ... Each file holds the component exactly as the card sees it: u1 tag,
 * u2 size, info[size]. Everything else in the zip (META-INF/, APPLET-INF/,
 * class files) is not for the card and is ignored.
 *
 * What this module does, and nothing more:
 *   - unzips with libzip (never a hand-written unzip);
 *   - finds the components of exactly one package (two package paths with
 *     components: refused), refuses a zip without a required component and
 *     a component whose own tag and size do not match its file;
 *   - concatenates them in load order (vm/cap_format.h's CAP_COMPONENTS
 *     table: Header, Directory, Import, Applet, Class, Method, StaticField,
 *     Export, ConstantPool, RefLocation, Descriptor, Debug), without the
 *     Debug component unless asked, with the Descriptor component unless
 *     asked not to; custom components (other names) are left out;
 *   - decodes the few Header and Applet facts a host needs to drive GP
 *     commands (package AID and version, applet AIDs).
 * It does not verify the package: the card does that (vm/cap_verify.h, run
 * on the host by `cardvm verify`).
 *
 * The load file carries no C4 tag: tools/gp_host.c wraps it into the Load
 * File Data Block when it sends the LOAD blocks.
 */
#ifndef CARDVM_TOOLS_CAP_FILE_H
#define CARDVM_TOOLS_CAP_FILE_H

#include <stddef.h>
#include <stdint.h>

enum capfile_flags {
    CAPFILE_WITH_DEBUG = 1,      /* keep the Debug component (never needed by a card) */
    CAPFILE_NO_DESCRIPTOR = 2,   /* leave the (optional) Descriptor component out */
};

#define CAPFILE_MAX_COMPONENTS 12
#define CAPFILE_MAX_APPLETS 16

typedef struct capfile_component {
    uint8_t tag;
    const char *name;            /* "Header" */
    size_t offset;               /* of its tag byte in load_file */
    size_t size;                 /* 3 + info size */
} capfile_component;

typedef struct capfile_applet {
    uint8_t aid[16], aid_len;
    uint16_t install_offset;     /* method offset of install() */
} capfile_applet;

typedef struct capfile {
    uint8_t *load_file;          /* components in load order (malloc'ed) */
    size_t len;
    capfile_component components[CAPFILE_MAX_COMPONENTS];
    unsigned n_components;
    char package_path[256];      /* the zip folder before "/javacard/", e.g. "capwork/counter" */

    /* from the Header component */
    uint8_t cap_major, cap_minor;      /* CAP format: 2.1 or 2.2 */
    uint8_t flags;                     /* ACC_INT 01, ACC_EXPORT 02, ACC_APPLET 04 */
    uint8_t pkg_major, pkg_minor;
    uint8_t pkg_aid[16], pkg_aid_len;
    /* from the Applet component (none for a library) */
    capfile_applet applets[CAPFILE_MAX_APPLETS];
    unsigned n_applets;
} capfile;

/* 1 when the bytes start like a zip (local file header "PK\3\4"). */
int capfile_is_zip(const uint8_t *bytes, size_t len);

/* Read a CAP file from disk or from memory. 0, or -1 with the reason in
 * err ("Applet.cap: ..."). Free with capfile_free (also after a failure). */
int capfile_read(const char *path, unsigned flags, capfile *out, char *err, size_t errlen);
int capfile_read_bytes(const uint8_t *zip, size_t len, unsigned flags, capfile *out, char *err, size_t errlen);
void capfile_free(capfile *f);

/* The component with this tag in load_file, or NULL. */
const capfile_component *capfile_component_of(const capfile *f, uint8_t tag);

#endif
