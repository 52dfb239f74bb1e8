/*
 * cap_format.h — the CAP file format, parsed: the manual of vm/cap_format.c.
 *
 * A Java Card package travels as a CAP file (JCVM specification 3.0.5,
 * chapter 6): a zip holding one file per component. What reaches the card is
 * the GlobalPlatform load file: tag C4, a BER length, then the components
 * concatenated in load order (below). Each component is `u1 tag, u2 size,
 * u1 info[size]`. The card never sees the zip; the host (tools/) unzips.
 *
 * Who does what:
 *   cap_parse()     structure only: every component present once, in order,
 *                   each one's own counts and lengths add up, nothing runs
 *                   past its component. It fills a cap_view of pointers into
 *                   the caller's bytes (no copy) plus small decoded tables.
 *   cap_verify.c    everything that needs more than one component or the
 *                   imported packages: offsets and tokens, constant-pool
 *                   kinds, bytecode and its types (vm/cap_verify.h).
 *   the runtime     links a verified view against the card's packages and
 *                   runs it (vm_internal.h).
 *
 * All multi-byte fields are big-endian. Offsets called "class offset" are
 * offsets into the Class component's info; "method offset" into the Method
 * component's info; "static field offset" into the static field image.
 */
#ifndef CARDVM_VM_CAP_FORMAT_H
#define CARDVM_VM_CAP_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include "vm.h"   /* VM_AID_MAX */

/* An AID as the components carry it: length, then up to 16 bytes. */
typedef struct vm_aid {
    uint8_t len;
    uint8_t b[VM_AID_MAX];
} vm_aid;

static inline uint16_t vm_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline void vm_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* Components: name, tag, the file name inside the zip, required on load,
 * and position in the load order (JCVM 3.0.5 §6.2: Header, Directory,
 * Import, Applet, Class, Method, StaticField, Export, ConstantPool,
 * RefLocation, then Descriptor; Debug never goes to the card). One table,
 * used by the parser, the host-side zip reader, the verifier and the
 * disassembler. */
#define CAP_COMPONENTS(X)                                   \
    X(Header,       1,  "Header.cap",       1, 0)           \
    X(Directory,    2,  "Directory.cap",    1, 1)           \
    X(Import,       4,  "Import.cap",       1, 2)           \
    X(Applet,       3,  "Applet.cap",       0, 3)           \
    X(Class,        6,  "Class.cap",        1, 4)           \
    X(Method,       7,  "Method.cap",       1, 5)           \
    X(StaticField,  8,  "StaticField.cap",  1, 6)           \
    X(Export,       10, "Export.cap",       0, 7)           \
    X(ConstantPool, 5,  "ConstantPool.cap", 1, 8)           \
    X(RefLocation,  9,  "RefLocation.cap",  1, 9)           \
    X(Descriptor,   11, "Descriptor.cap",   0, 10)          \
    X(Debug,        12, "Debug.cap",        0, 11)

enum cap_tag {
#define CAP_TAG_ENUM(name, tag, file, req, order) CAP_##name = tag,
    CAP_COMPONENTS(CAP_TAG_ENUM)
#undef CAP_TAG_ENUM
    CAP_TAG_MAX = 12
};

typedef struct cap_component_info {
    const char *name;      /* "Header" */
    uint8_t tag;
    const char *file;      /* "Header.cap" */
    uint8_t required;      /* on the card */
    uint8_t order;         /* load order position */
} cap_component_info;

/* Table indexed by tag (1..12); entry 0 is empty. */
extern const cap_component_info cap_components[CAP_TAG_MAX + 1];

#define CAP_MAGIC 0xDECAFFEDu

/* Header flags. */
#define CAP_ACC_INT    0x01
#define CAP_ACC_EXPORT 0x02
#define CAP_ACC_APPLET 0x04

/* Constant pool tags (§6.8). */
enum cap_cp_tag {
    CAP_CP_CLASSREF = 1,
    CAP_CP_INSTANCE_FIELDREF = 2,
    CAP_CP_VIRTUAL_METHODREF = 3,
    CAP_CP_SUPER_METHODREF = 4,
    CAP_CP_STATIC_FIELDREF = 5,
    CAP_CP_STATIC_METHODREF = 6,
};

/* A class_ref (u2): internal = class offset (high bit clear); external =
 * (0x80 | package token) << 8 | class token. */
#define CAP_REF_EXTERNAL(r)   (((r) & 0x8000u) != 0)
#define CAP_REF_PKG_TOKEN(r)  ((uint8_t)(((r) >> 8) & 0x7Fu))
#define CAP_REF_CLASS_TOKEN(r) ((uint8_t)((r) & 0xFFu))

/* Class flags (high nibble of the bitfield byte, §6.9). */
#define CAP_ACC_INTERFACE 0x8
#define CAP_ACC_SHAREABLE 0x4
#define CAP_ACC_REMOTE    0x2

/* Method header flags (§6.10). */
#define CAP_ACC_EXTENDED 0x8
#define CAP_ACC_ABSTRACT 0x4

#define CAP_MAX_IMPORTS 128
#define CAP_MAX_APPLETS 16
#define CAP_MAX_CLASSES 255

typedef struct cap_package_ref {
    uint8_t minor, major;
    vm_aid aid;
} cap_package_ref;

typedef struct cap_applet {
    vm_aid aid;
    uint16_t install_offset;     /* method offset of install(bArray, bOffset, bLength) */
} cap_applet;

/* One interface_info or class_info of the Class component, decoded. */
typedef struct cap_class {
    uint16_t offset;             /* class offset (what class_refs hold) */
    uint8_t flags;               /* CAP_ACC_INTERFACE, _SHAREABLE, _REMOTE */
    uint8_t interface_count;
    /* interfaces: superinterfaces (class_ref u2 each);
     * classes: implemented_interface_info records, each
     *   u2 interface class_ref, u1 count, u1 index[count] */
    const uint8_t *interfaces;
    /* classes only */
    uint16_t super_ref;          /* class_ref; 0xFFFF for java.lang.Object itself */
    uint8_t declared_instance_size;
    uint8_t first_reference_token, reference_count;
    uint8_t public_base, public_count;
    uint8_t package_base, package_count;
    const uint8_t *public_vtable;   /* public_count x u2 method offset */
    const uint8_t *package_vtable;  /* package_count x u2 method offset */
} cap_class;

/* An exception handler of the Method component (§6.10). */
typedef struct cap_handler {
    uint16_t start, end;         /* [start, end) method-component offsets */
    uint8_t stop;                /* stop bit: last handler of its try nest */
    uint16_t handler;            /* handler offset */
    uint16_t catch_type;         /* CP index of a classref, 0 = any (finally) */
} cap_handler;

typedef struct cap_view {
    const uint8_t *bytes;        /* the concatenated components */
    size_t len;
    /* info and size of each component by tag; info NULL when absent */
    const uint8_t *info[CAP_TAG_MAX + 1];
    uint16_t size[CAP_TAG_MAX + 1];

    /* Header */
    uint8_t cap_minor, cap_major;    /* CAP format 2.1 or 2.2 */
    uint8_t flags;                   /* CAP_ACC_* */
    uint8_t pkg_minor, pkg_major;
    vm_aid pkg_aid;
    const uint8_t *pkg_name;         /* 2.2 only, else NULL */
    uint8_t pkg_name_len;

    /* Directory */
    uint16_t component_sizes[CAP_TAG_MAX + 1];   /* by tag as declared */
    uint16_t static_image_size;
    uint16_t array_init_count, array_init_size;
    uint8_t custom_count;

    /* Import */
    uint8_t import_count;
    cap_package_ref imports[CAP_MAX_IMPORTS];

    /* Applet */
    uint8_t applet_count;
    cap_applet applets[CAP_MAX_APPLETS];

    /* ConstantPool: cp_count entries of 4 bytes (tag, 3 bytes) */
    uint16_t cp_count;
    const uint8_t *cp;

    /* Class: in component order; interfaces and classes mixed */
    uint16_t class_count;
    cap_class *classes;              /* heap, freed by cap_view_free */

    /* Method */
    uint8_t handler_count;
    cap_handler *handlers;           /* heap */
    const uint8_t *methods;          /* the Method component info (offset base) */
    uint16_t methods_size;

    /* StaticField */
    uint16_t sf_image_size, sf_reference_count;
    uint16_t sf_array_init_count;
    const uint8_t *sf_array_inits;   /* array_init_info records */
    uint16_t sf_default_count, sf_nondefault_count;
    const uint8_t *sf_nondefault;    /* sf_nondefault_count bytes */

    /* RefLocation */
    uint16_t ref1_count, ref2_count;
    const uint8_t *ref1, *ref2;      /* offset deltas (255 = skip on) */

    /* Export (NULL when absent) and Descriptor (NULL when absent) stay raw;
     * cap_verify.c and the linker walk them. */
} cap_view;

/* True when `bytes` looks like a CAP load file (a Header component with the
 * DECAFFED magic), as opposed to another package format. */
int cap_is_load_file(const uint8_t *bytes, size_t len);

/*
 * Parse a load file (components concatenated, without the C4 wrapper).
 * Components may come in load order or any order, each at most once; a
 * Debug or custom component is skipped. Returns 0, or VM_ERR_VERIFY with
 * "Component offset N: reason" in err. The view points into `bytes`, which
 * must outlive it. Free with cap_view_free (also after a failure).
 */
int cap_parse(const uint8_t *bytes, size_t len, cap_view *v, char *err, size_t errlen);
void cap_view_free(cap_view *v);

/* Method header at a method offset: flags, max_stack, nargs, max_locals,
 * and where the bytecode starts. 0, or -1 when out of bounds. */
typedef struct cap_method_header {
    uint8_t flags;
    uint8_t max_stack, nargs, max_locals;
    uint16_t code_offset;            /* method offset of the first bytecode */
} cap_method_header;
int cap_method_header_at(const cap_view *v, uint16_t method_offset, cap_method_header *h);

/* The class_info at a class offset, or NULL. */
const cap_class *cap_class_at(const cap_view *v, uint16_t class_offset);

#endif
