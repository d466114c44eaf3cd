# Writes OUTPUT, a source defining qreg::detail::build_commit(): the short git hash of SOURCE_DIR,
# "-dirty" when tracked files differ from it. Run in script mode at every build
# (core/CMakeLists.txt), so a binary names the commit it was compiled from, not the one its build
# folder was configured at; OUTPUT is rewritten only when the text changes, so an unchanged tree
# recompiles nothing.
#   cmake -DSOURCE_DIR=<repo> -DOUTPUT=<file> -P QregCommitStamp.cmake
# The hash counts only when SOURCE_DIR is the top of its own checkout: a source tarball unpacked
# inside some other repository must not be stamped with that repository's commit.
set(_commit "unknown")  # not a git checkout of qreg (a source tarball), or no git
execute_process(COMMAND git rev-parse --show-toplevel
                WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE _top OUTPUT_STRIP_TRAILING_WHITESPACE
                ERROR_QUIET RESULT_VARIABLE _rc)
if(_rc EQUAL 0 AND NOT _top STREQUAL "")
  file(REAL_PATH "${_top}" _top)
  file(REAL_PATH "${SOURCE_DIR}" _src)
  if(_top STREQUAL _src)
    execute_process(COMMAND git rev-parse --short=12 HEAD
                    WORKING_DIRECTORY ${SOURCE_DIR}
                    OUTPUT_VARIABLE _head OUTPUT_STRIP_TRAILING_WHITESPACE
                    ERROR_QUIET RESULT_VARIABLE _rc)
    if(_rc EQUAL 0 AND NOT _head STREQUAL "")
      set(_commit "${_head}")
      # --no-optional-locks: a status run by the build must not take the index lock and so get
      # in the way of a git command the user runs at the same time.
      execute_process(COMMAND git --no-optional-locks status --porcelain --untracked-files=no
                      WORKING_DIRECTORY ${SOURCE_DIR}
                      OUTPUT_VARIABLE _dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      if(NOT _dirty STREQUAL "")
        string(APPEND _commit "-dirty")
      endif()
    endif()
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
