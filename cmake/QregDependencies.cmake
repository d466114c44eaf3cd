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

# Random123 is header-only and ships no CMake config.
find_path(RANDOM123_INCLUDE_DIR Random123/philox.h REQUIRED)
add_library(qreg_random123 INTERFACE)
target_include_directories(qreg_random123 SYSTEM INTERFACE ${RANDOM123_INCLUDE_DIR})

# gnuplot-iostream is a single header.
find_path(GNUPLOT_IOSTREAM_INCLUDE_DIR gnuplot-iostream.h)
find_program(GNUPLOT_EXECUTABLE gnuplot)

if(QREG_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(QREG_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
