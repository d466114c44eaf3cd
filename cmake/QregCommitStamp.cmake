# Writes OUTPUT, a source defining qreg::detail::build_commit(): the short git hash of SOURCE_DIR,
# "-dirty" when tracked files differ from it. Run in script mode at every build
# (core/CMakeLists.txt), so a binary names the commit it was compiled from, not the one its build
# folder was configured at; OUTPUT is rewritten only when the text changes, so an unchanged tree
# recompiles nothing.
#   cmake -DSOURCE_DIR=<repo> -DOUTPUT=<file> -P QregCommitStamp.cmake
execute_process(COMMAND git rev-parse --short=12 HEAD
                WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE _commit OUTPUT_STRIP_TRAILING_WHITESPACE
                ERROR_QUIET RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0 OR _commit STREQUAL "")
  set(_commit "unknown")  # not a git checkout (a source tarball)
else()
  execute_process(COMMAND git status --porcelain --untracked-files=no
                  WORKING_DIRECTORY ${SOURCE_DIR}
                  OUTPUT_VARIABLE _dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(NOT _dirty STREQUAL "")
    string(APPEND _commit "-dirty")
  endif()
endif()
set(_text "// Generated at build time by cmake/QregCommitStamp.cmake: do not edit.
namespace qreg::detail {
const char* build_commit() { return \"${_commit}\"; }
}  // namespace qreg::detail
")
set(_old "")
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} _old)
endif()
if(NOT _old STREQUAL _text)
  file(WRITE ${OUTPUT} "${_text}")
endif()
