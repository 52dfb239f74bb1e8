# cardvm_embed_package(TARGET SOURCE SYMBOL): assemble SOURCE (relative to the
# source root) at build time and add a C file defining `const uint8_t
# SYMBOL[]` and `const size_t SYMBOL_len` to TARGET. A .jca source gives the
# CAP load file (cardvm-jca-load-file, tools/jca: the components in load
# order, what the card loads); anything else the older .cvp (cardvm-asm).
function(cardvm_embed_package target src symbol)
  get_filename_component(_n ${src} NAME_WE)
  get_filename_component(_e ${src} EXT)
  set(_c ${CMAKE_CURRENT_BINARY_DIR}/${symbol}.c)
  if(_e STREQUAL ".jca")
    set(_bin ${CMAKE_CURRENT_BINARY_DIR}/${_n}.capload)
    add_custom_command(OUTPUT ${_bin}
      COMMAND cardvm-jca-load-file ${CMAKE_SOURCE_DIR}/${src} ${_bin}
      DEPENDS cardvm-jca-load-file ${CMAKE_SOURCE_DIR}/${src} VERBATIM)
  else()
    set(_bin ${CMAKE_CURRENT_BINARY_DIR}/${_n}.cvp)
    add_custom_command(OUTPUT ${_bin}
      COMMAND cardvm-asm ${CMAKE_SOURCE_DIR}/${src} ${_bin}
      DEPENDS cardvm-asm ${CMAKE_SOURCE_DIR}/${src} VERBATIM)
  endif()
  add_custom_command(OUTPUT ${_c}
    COMMAND ${CMAKE_COMMAND} -DIN=${_bin} -DOUT=${_c} -DNAME=${symbol} -P ${CMAKE_SOURCE_DIR}/cmake/bin2c.cmake
    DEPENDS ${_bin} ${CMAKE_SOURCE_DIR}/cmake/bin2c.cmake VERBATIM)
  target_sources(${target} PRIVATE ${_c})
endfunction()
