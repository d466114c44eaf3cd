# Every dependency comes from Debian 12 packages; scripts/setup-debian installs them.
find_package(Eigen3 3.4 REQUIRED NO_MODULE)
find_package(Boost 1.74 REQUIRED)  # Boost.Math is header-only
find_package(TBB REQUIRED)
find_package(CLI11 2.1 REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)
find_package(ONNX REQUIRED)
find_package(Protobuf REQUIRED)

# The engine's GEMM (core/gemm.cpp): OpenBLAS's kernels run the MLP's and the CNN's products
# 1.3-1.8x faster than Eigen's on one core here (docs/benchmarks.md); Eigen remains as a fallback.
add_library(qreg_blas INTERFACE)
if(QREG_BLAS STREQUAL "OpenBLAS")
  find_package(OpenBLAS CONFIG QUIET)
  if(NOT OpenBLAS_FOUND)
    message(FATAL_ERROR "OpenBLAS not found: install libopenblas-dev (scripts/setup-debian does), "
                        "or configure with -DQREG_BLAS=Eigen to use Eigen's slower GEMM")
  endif()
  target_include_directories(qreg_blas SYSTEM INTERFACE ${OpenBLAS_INCLUDE_DIRS})
  target_link_libraries(qreg_blas INTERFACE ${OpenBLAS_LIBRARIES})
  set(QREG_HAVE_OPENBLAS 1)
  message(STATUS "qreg GEMM: OpenBLAS ${OpenBLAS_VERSION} (${OpenBLAS_LIBRARIES})")
elseif(QREG_BLAS STREQUAL "Eigen")
  set(QREG_HAVE_OPENBLAS 0)
  message(STATUS "qreg GEMM: Eigen")
else()
  message(FATAL_ERROR "QREG_BLAS must be OpenBLAS or Eigen, not '${QREG_BLAS}'")
endif()

# Random123 is header-only and ships no CMake config.
find_path(RANDOM123_INCLUDE_DIR Random123/philox.h REQUIRED)
add_library(qreg_random123 INTERFACE)
target_include_directories(qreg_random123 SYSTEM INTERFACE ${RANDOM123_INCLUDE_DIR})

# gnuplot is a run-time dependency of `qreg plot` (and of reproduce's figures): it is run as a
# program, found on PATH (or QREG_GNUPLOT) when a figure is drawn. Say so early if it is missing.
find_program(GNUPLOT_EXECUTABLE gnuplot)
if(NOT GNUPLOT_EXECUTABLE)
  message(STATUS "gnuplot not found: `qreg plot` and reproduce's figures need it at run time "
                 "(scripts/setup-debian installs gnuplot-nox)")
endif()

if(QREG_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(QREG_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
