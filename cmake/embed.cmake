# cardvm_embed_package(TARGET SOURCE.s SYMBOL): assemble SOURCE.s (relative to
# the source root) with cardvm-asm at build time and add a C file defining
# `const uint8_t SYMBOL[]` and `const size_t SYMBOL_len` to TARGET.
function(cardvm_embed_package target src symbol)
  get_filename_component(_n ${src} NAME_WE)
  set(_cvp ${CMAKE_CURRENT_BINARY_DIR}/${_n}.cvp)
  set(_c ${CMAKE_CURRENT_BINARY_DIR}/${symbol}.c)
  add_custom_command(OUTPUT ${_cvp}
    COMMAND cardvm-asm ${CMAKE_SOURCE_DIR}/${src} ${_cvp}
    DEPENDS cardvm-asm ${CMAKE_SOURCE_DIR}/${src} VERBATIM)
  add_custom_command(OUTPUT ${_c}
    COMMAND ${CMAKE_COMMAND} -DIN=${_cvp} -DOUT=${_c} -DNAME=${symbol} -P ${CMAKE_SOURCE_DIR}/cmake/bin2c.cmake
    DEPENDS ${_cvp} ${CMAKE_SOURCE_DIR}/cmake/bin2c.cmake VERBATIM)
  target_sources(${target} PRIVATE ${_c})
endfunction()
