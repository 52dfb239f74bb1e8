/*
 * api_decls.h — API declaration sources for javac: Java declarations of
 * the card's built-in Java Card API, written from the token tables
 * (vm/api_tokens.h), for javac to compile applets against: the project's
 * replacement for the kit's api_classic.jar.
 *
 * The jar a Java Card kit puts on javac's class path (docs/convert.md) is
 * this module's output: declarations without behaviour by design,
 * complete for every class the card exports; the card's behaviour is
 * vm/api_*.c.
 *
 * One .java file per exported class or interface of every built-in package
 * (java.lang, javacard.framework, javacard.security, javacardx.crypto,
 * javacardx.apdu, cardvm.loader: all of jc_api_packages): the hierarchy, the compile-time constants with their
 * values, and every constructor and method signature the export tables
 * list. No behaviour: a method body is `throw null;`. Hidden classes (the
 * card's own, JC_API_HIDDEN) are not written. Parameter names are p0, p1...
 * (the tables carry none). A static throwIt of a checked exception class
 * (UserException, CardException) declares `throws` that class so that
 * applets may catch it; the export tables carry no throws clauses.
 * java/lang/Error is added for javac's exception analysis (javac
 * -bootclasspath needs it); it is in no export table, and the converter
 * refuses it like anything else the card does not have.
 *
 * The build (tools/convert/CMakeLists.txt) runs `cardvm-api-decls DIR`,
 * then javac and jar, giving cardvm-api.jar (docs/convert.md).
 */
#ifndef CARDVM_TOOLS_API_DECLS_H
#define CARDVM_TOOLS_API_DECLS_H

#include <stddef.h>

/* Write DIR/<package path>/<Class>.java for every exported class, and
 * DIR/sources.txt listing them (one path a line, for javac @file).
 * 0, or -1 with err. */
int api_decls_write(const char *dir, char *err, size_t errlen);

#endif
