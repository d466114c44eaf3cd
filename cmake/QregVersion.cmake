# The version and build options live in one source generated at configure time
# (core/version.cpp.in); the commit in another, generated at every build
# (cmake/QregCommitStamp.cmake, wired in core/CMakeLists.txt), because a build folder outlives
# the commit it was configured at.
