# cardvm_embed_package(TARGET SOURCE SYMBOL): assemble the JCA source SOURCE
# (relative to the source root) at build time into its CAP load file
# (cardvm-jca-load-file, tools/jca: the components in load order, what the
# card loads) and add a C file defining `const uint8_t SYMBOL[]` and
# `const size_t SYMBOL_len` to TARGET.
function(cardvm_embed_package target src symbol)
  get_filename_component(_n ${src} NAME_WE)
  get_filename_component(_e ${src} EXT)
  set(_c ${CMAKE_CURRENT_BINARY_DIR}/${symbol}.c)
  if(NOT _e STREQUAL ".jca")
    message(FATAL_ERROR "cardvm_embed_package: ${src} is not a JCA source (.jca)")
  endif()
  set(_bin ${CMAKE_CURRENT_BINARY_DIR}/${_n}.capload)
  add_custom_command(OUTPUT ${_bin}
    COMMAND cardvm-jca-load-file ${CMAKE_SOURCE_DIR}/${src} ${_bin}
    DEPENDS cardvm-jca-load-file ${CMAKE_SOURCE_DIR}/${src} VERBATIM)
  add_custom_command(OUTPUT ${_c}
    COMMAND ${CMAKE_COMMAND} -DIN=${_bin} -DOUT=${_c} -DNAME=${symbol} -P ${CMAKE_SOURCE_DIR}/cmake/bin2c.cmake
    DEPENDS ${_bin} ${CMAKE_SOURCE_DIR}/cmake/bin2c.cmake VERBATIM)
  target_sources(${target} PRIVATE ${_c})
endfunction()
