/*
 * api_decls.c — the API declaration sources for javac, from the token
 * tables (see api_decls.h).
 */
#include "api_decls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "api_tokens.h"

static int make_dirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0777);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* "javacard/framework/APDU" -> "javacard.framework.APDU" */
static void dotted(const char *slashed, char *out, size_t outlen)
{
    size_t i = 0;
    for (; slashed[i] && i + 1 < outlen; i++)
        out[i] = (slashed[i] == '/' || slashed[i] == '$') ? '.' : slashed[i];
    out[i] = '\0';
}

/* One descriptor type at *d as Java source; advances *d. */
static void java_type(const char **d, FILE *f)
{
    int dims = 0;
    while (**d == '[') {
        dims++;
        (*d)++;
    }
    switch (**d) {
    case 'B': fputs("byte", f); break;
    case 'S': fputs("short", f); break;
    case 'Z': fputs("boolean", f); break;
    case 'I': fputs("int", f); break;
    case 'V': fputs("void", f); break;
    case 'L': {
        const char *end = strchr(*d, ';');
        char name[256];
        size_t n = (size_t)(end - *d - 1);
        if (n >= sizeof name)
            n = sizeof name - 1;
        memcpy(name, *d + 1, n);
        name[n] = '\0';
        char dot[256];
        dotted(name, dot, sizeof dot);
        fputs(dot, f);
        *d = end;
        break;
    }
    default: fputs("/* ? */ int", f); break;
    }
    (*d)++;
    while (dims--)
        fputs("[]", f);
}

/* A value of the parameter type at *d for a super(...) call; advances *d. */
static void default_arg(const char **d, FILE *f)
{
    if (**d == 'B' || **d == 'S') {
        fprintf(f, "(%s) 0", **d == 'B' ? "byte" : "short");
        (*d)++;
    } else if (**d == 'Z') {
        fputs("false", f);
        (*d)++;
    } else if (**d == 'I') {
        fputs("0", f);
        (*d)++;
    } else {
        fputs("(", f);
        java_type(d, f);
        fputs(") null", f);
    }
}

static void modifiers(uint16_t flags, FILE *f)
{
    if (flags & JC_ACC_PUBLIC)
        fputs("public ", f);
    if (flags & JC_ACC_PROTECTED)
        fputs("protected ", f);
    if (flags & JC_ACC_STATIC)
        fputs("static ", f);
    if (flags & JC_ACC_FINAL)
        fputs("final ", f);
}

static const char *simple_name(const char *full)
{
    const char *s = strrchr(full, '/');
    return s ? s + 1 : full;
}

/* Does a superclass (or, for an interface, a superinterface) already
 * declare this method? Then the export table lists it only as inherited. */
static int inherited(const jc_api_class *c, const jc_api_method *m)
{
    if (c->flags & JC_ACC_INTERFACE) {
        for (const char *const *i = c->interfaces; i && *i; i++) {
            const jc_api_class *s = jc_api_class_by_name(*i, NULL);
            if (s && jc_api_method_by_name(s, m->name, m->desc, m->kind))
                return 1;
        }
        return 0;
    }
    for (const char *sup = c->super_name; sup;) {
        const jc_api_class *s = jc_api_class_by_name(sup, NULL);
        if (!s)
            return 0;
        const jc_api_method *sm = jc_api_method_by_name(s, m->name, m->desc, m->kind);
        /* A concrete class restates what it implements of an abstract one. */
        if (sm)
            return !(sm->flags & JC_ACC_ABSTRACT) || (c->flags & JC_ACC_ABSTRACT);
        sup = s->super_name;
    }
    return 0;
}

static int is_checked_throwable(const jc_api_class *c)
{
    int throwable = 0;
    for (const jc_api_class *k = c; k;) {
        if (!strcmp(k->name, "java/lang/RuntimeException"))
            return 0;
        if (!strcmp(k->name, "java/lang/Throwable"))
            throwable = 1;
        k = k->super_name ? jc_api_class_by_name(k->super_name, NULL) : NULL;
    }
    return throwable;
}

static void write_params(const char *desc, FILE *f)
{
    const char *d = desc + 1;
    for (int i = 0; *d != ')'; i++) {
        if (i)
            fputs(", ", f);
        java_type(&d, f);
        fprintf(f, " p%d", i);
    }
}

static const char *java_simple_name(const char *full);

static void write_constructor(const jc_api_class *c, const jc_api_method *m, uint16_t flags, FILE *f)
{
    fputs("    ", f);
    modifiers(flags & (JC_ACC_PUBLIC | JC_ACC_PROTECTED), f);
    if (flags & JC_ACC_PRIVATE)
        fputs("private ", f);
    fprintf(f, "%s(", java_simple_name(c->name));
    if (m)
        write_params(m->desc, f);
    fputs(") {", f);
    const jc_api_class *s = c->super_name ? jc_api_class_by_name(c->super_name, NULL) : NULL;
    if (s) {
        const jc_api_method *sc = NULL;
        for (unsigned i = 0; i < s->method_count; i++)
            if (s->methods[i].kind == JC_CONSTRUCTOR) {
                sc = &s->methods[i];
                break;
            }
        fputs(" super(", f);
        if (sc) {
            const char *d = sc->desc + 1;
            for (int i = 0; *d != ')'; i++) {
                if (i)
                    fputs(", ", f);
                default_arg(&d, f);
            }
        }
        fputs(");", f);
    }
    fputs(" }\n", f);
}

/* "javacard/security/Signature$OneShot" is nested in Signature. */
static int is_nested_in(const jc_api_class *inner, const jc_api_class *outer)
{
    size_t n = strlen(outer->name);
    return !strncmp(inner->name, outer->name, n) && inner->name[n] == '$' && !strchr(inner->name + n + 1, '$');
}

static const char *java_simple_name(const char *full)
{
    const char *s = simple_name(full);
    const char *d = strrchr(s, '$');
    return d ? d + 1 : s;
}

static void write_body(const jc_api_package *pkg, const jc_api_class *c, int nested, FILE *f)
{
    const char *ind = nested ? "    " : "";
    char dot[256];
    int iface = (c->flags & JC_ACC_INTERFACE) != 0;
    fprintf(f, "%spublic ", ind);
    if (nested)
        fputs("static ", f);
    if (!iface && (c->flags & JC_ACC_ABSTRACT))
        fputs("abstract ", f);
    if (c->flags & JC_ACC_FINAL)
        fputs("final ", f);
    fprintf(f, "%s %s", iface ? "interface" : "class", java_simple_name(c->name));
    if (!iface && c->super_name) {
        dotted(c->super_name, dot, sizeof dot);
        fprintf(f, " extends %s", dot);
    }
    int n = 0;
    for (const char *const *i = c->interfaces; i && *i; i++) {
        dotted(*i, dot, sizeof dot);
        fprintf(f, "%s%s", n++ ? ", " : (iface ? " extends " : " implements "), dot);
    }
    fputs(" {\n", f);

    for (unsigned i = 0; i < c->field_count; i++) {
        const jc_api_field *fl = &c->fields[i];
        fprintf(f, "%s    ", ind);
        modifiers(fl->flags, f);
        const char *d = fl->desc;
        java_type(&d, f);
        fprintf(f, " %s", fl->name);
        if (fl->token == 0xFF && (fl->flags & JC_ACC_FINAL)) {
            switch (fl->desc[0]) {
            case 'Z': fprintf(f, " = %s", fl->value ? "true" : "false"); break;
            case 'B': fprintf(f, " = (byte) %d", (int)fl->value); break;
            case 'S': fprintf(f, " = (short) %d", (int)fl->value); break;
            default: fprintf(f, " = %d", (int)fl->value); break;
            }
        }
        fputs(";\n", f);
    }

    int constructors = 0;
    for (unsigned i = 0; i < c->method_count; i++) {
        const jc_api_method *m = &c->methods[i];
        if (m->kind == JC_CONSTRUCTOR) {
            fputs(ind, f);
            write_constructor(c, m, m->flags, f);
            constructors++;
            continue;
        }
        if (inherited(c, m))
            continue;
        fprintf(f, "%s    ", ind);
        uint16_t flags = m->flags;
        if (iface)
            flags &= (uint16_t)~(JC_ACC_PUBLIC | JC_ACC_ABSTRACT);
        modifiers(flags, f);
        if (flags & JC_ACC_ABSTRACT)
            fputs("abstract ", f);
        const char *r = strchr(m->desc, ')') + 1;
        java_type(&r, f);
        fprintf(f, " %s(", m->name);
        write_params(m->desc, f);
        fputs(")", f);
        if (!strcmp(m->name, "throwIt") && (m->flags & JC_ACC_STATIC) && is_checked_throwable(c))
            fprintf(f, " throws %s", java_simple_name(c->name));
        fputs((iface || (flags & JC_ACC_ABSTRACT)) ? ";\n" : " { throw null; }\n", f);
    }
    /* No constructor in the tables: the class cannot be made by applets;
     * a private one keeps javac from adding a public default. */
    if (!iface && !constructors) {
        fputs(ind, f);
        write_constructor(c, NULL, JC_ACC_PRIVATE, f);
    }
    for (unsigned i = 0; i < pkg->class_count; i++)
        if (pkg->classes[i].name && !(pkg->classes[i].flags & JC_API_HIDDEN) && is_nested_in(&pkg->classes[i], c))
            write_body(pkg, &pkg->classes[i], 1, f);
    fprintf(f, "%s}\n", ind);
}

static int write_class(const char *dir, const jc_api_package *pkg, const jc_api_class *c, FILE *list, char *err,
                       size_t errlen)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, c->name);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    if (make_dirs(path) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    *slash = '/';
    strncat(path, ".java", sizeof path - strlen(path) - 1);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(list, "%s\n", path);
    char dot[256];
    dotted(pkg->name, dot, sizeof dot);
    fprintf(f, "// GENERATED by cardvm-api-decls from the card's token tables (vm/api_tokens.c).\n"
               "// Declarations only: compile applets against them, never run them.\n"
               "package %s;\n\n",
            dot);
    write_body(pkg, c, 0, f);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: write error", path);
        return -1;
    }
    return 0;
}

int api_decls_write(const char *dir, char *err, size_t errlen)
{
    char path[1024];
    snprintf(path, sizeof path, "%s", dir);
    if (make_dirs(path) != 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/sources.txt", dir);
    FILE *list = fopen(path, "w");
    if (!list) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (unsigned p = 0; p < jc_api_package_count && rc == 0; p++) {
        const jc_api_package *pkg = &jc_api_packages[p];
        for (unsigned i = 0; i < pkg->class_count && rc == 0; i++) {
            const jc_api_class *c = &pkg->classes[i];
            if (c->name && !(c->flags & JC_API_HIDDEN) && !strchr(c->name, '$'))
                rc = write_class(dir, pkg, c, list, err, errlen);
        }
    }
    /* javac's exception analysis needs java.lang.Error, which the card has
     * not: declared for javac only, the converter refuses any use of it. */
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/java/lang/Error.java", dir);
        FILE *f = fopen(path, "w");
        if (!f || fputs("// GENERATED by cardvm-api-decls. For javac's exception analysis only: not\n"
                        "// on the card (not in java.lang's export), the converter refuses it.\n"
                        "package java.lang;\n\npublic class Error extends Throwable {\n"
                        "    private Error() { }\n}\n",
                        f) < 0 || fclose(f) != 0) {
            snprintf(err, errlen, "%s: write error", path);
            rc = -1;
        } else {
            fprintf(list, "%s\n", path);
        }
    }
    if (fclose(list) != 0 && rc == 0) {
        snprintf(err, errlen, "%s: write error", path);
        rc = -1;
    }
    return rc;
}
