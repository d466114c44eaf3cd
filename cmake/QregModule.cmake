# qreg_add_module(<name> [DEPS targets...]): the library qreg_<name> (alias qreg::<name>) from the
# .cpp files of the current folder, linking DEPS publicly. A module without sources yet is an
# INTERFACE library so the layering already holds. Sources are globbed so that parallel work on
# separate files never collides in a hand-kept list.
function(qreg_add_module name)
  cmake_parse_arguments(ARG "" "" "DEPS;EXTRA_SOURCES" ${ARGN})
  file(GLOB _sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  list(APPEND _sources ${ARG_EXTRA_SOURCES})
  if(_sources)
    add_library(qreg_${name} STATIC ${_sources})
    target_link_libraries(qreg_${name} PUBLIC ${ARG_DEPS})
  else()
    add_library(qreg_${name} INTERFACE)
    target_link_libraries(qreg_${name} INTERFACE ${ARG_DEPS})
  endif()
  add_library(qreg::${name} ALIAS qreg_${name})
endfunction()
