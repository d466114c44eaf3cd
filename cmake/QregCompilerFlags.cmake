# Warning, optimisation and sanitizer flags shared by every qreg target (via qreg_options).
add_library(qreg_options INTERFACE)
add_library(qreg::options ALIAS qreg_options)
target_include_directories(qreg_options INTERFACE ${PROJECT_SOURCE_DIR})

set(_qreg_cxx $<COMPILE_LANGUAGE:CXX>)
target_compile_options(qreg_options INTERFACE $<${_qreg_cxx}:-Wall -Wextra -Wpedantic>)
# GCC 12 at -O3 reports -Wrestrict false positives inside libstdc++'s std::string (GCC PR 105329)
# on ordinary concatenations. It also reports "'__Y' may be used uninitialized" inside its own
# AVX-512 intrinsic headers (avx512fintrin.h declares `__m512 __Y = __Y;` as the undefined operand
# of masked builtins), reached through Eigen's Packet16f code; whether it fires depends on -mtune,
# so -march=native -Werror failed on an AMD Zen (znver3 tuning, AVX-512) host while it built on
# others. Both warnings are off for GCC 12 only; -Wuninitialized (definite uses) stays on.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
   AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(qreg_options INTERFACE $<${_qreg_cxx}:-Wno-restrict -Wno-maybe-uninitialized>)
endif()
if(QREG_WERROR)
  target_compile_options(qreg_options INTERFACE $<${_qreg_cxx}:-Werror>)
endif()

# -O3 -march=native by default: users build from source, and AVX-512 is worth ~1.5x in Eigen GEMM.
if(QREG_NATIVE)
  target_compile_options(qreg_options INTERFACE $<${_qreg_cxx}:-march=native>)
else()
  target_compile_options(qreg_options INTERFACE $<${_qreg_cxx}:-march=x86-64-v3>)
endif()
string(REPLACE "-O2" "-O3" CMAKE_CXX_FLAGS_RELEASE "${CMAKE_CXX_FLAGS_RELEASE}")
string(REPLACE "-O2" "-O3" CMAKE_CXX_FLAGS_RELWITHDEBINFO "${CMAKE_CXX_FLAGS_RELWITHDEBINFO}")

if(QREG_SANITIZE)
  string(REPLACE "," ";" _qreg_sans "${QREG_SANITIZE}")
  foreach(_s IN LISTS _qreg_sans)
    if(NOT _s MATCHES "^(address|undefined)$")
      message(FATAL_ERROR "QREG_SANITIZE: unknown sanitizer '${_s}' (use address and/or undefined)")
    endif()
  endforeach()
  set(_qreg_san_flags -fsanitize=${QREG_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_compile_options(qreg_options INTERFACE $<${_qreg_cxx}:${_qreg_san_flags}>)
  target_link_options(qreg_options INTERFACE ${_qreg_san_flags})
endif()
