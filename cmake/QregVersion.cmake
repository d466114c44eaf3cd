# The version and commit live in one generated source (core/version.cpp.in).
execute_process(COMMAND git rev-parse --short=12 HEAD
                WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
                OUTPUT_VARIABLE QREG_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE
                ERROR_QUIET RESULT_VARIABLE _qreg_git_rc)
if(NOT _qreg_git_rc EQUAL 0 OR QREG_GIT_COMMIT STREQUAL "")
  set(QREG_GIT_COMMIT "unknown")
endif()
execute_process(COMMAND git status --porcelain --untracked-files=no
                WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
                OUTPUT_VARIABLE _qreg_dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT _qreg_dirty STREQUAL "")
  string(APPEND QREG_GIT_COMMIT "-dirty")
endif()
