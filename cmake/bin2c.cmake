# cmake -DIN=file.bin -DOUT=file.c -DNAME=symbol -P bin2c.cmake
# Writes `const uint8_t NAME[]` and `const size_t NAME_len` with the bytes.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR bytes "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n    " body "${body}")
file(WRITE ${OUT} "/* Generated from ${IN} at build time. */\n#include <stddef.h>\n#include <stdint.h>\nconst uint8_t ${NAME}[] = {\n    ${body}\n};\nconst size_t ${NAME}_len = ${bytes};\n")
