# One helper per target kind, so every target gets the same warnings, include
# roots and sanitizer flags (modelled on Abseil's AbseilHelpers.cmake).

set(CAIRN_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
    -Woverloaded-virtual -Wimplicit-fallthrough)
# g++ 12 raises false -Wrestrict on std::string concatenation (GCC bug 105651)
# and -Wnull-dereference inside Boost.Asio after inlining, and false
# -Wmaybe-uninitialized on std::variant at -O1 (the sanitizer builds); none is ours.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND CAIRN_WARNINGS -Wno-restrict -Wno-maybe-uninitialized)
  # g++ also warns about members a C++20 designated initializer leaves to
  # their defaults (GCC bug 96868), which is what designated initializers are for.
  list(APPEND CAIRN_WARNINGS -Wno-missing-field-initializers)
endif()
if(CAIRN_WERROR)
  list(APPEND CAIRN_WARNINGS -Werror)
endif()

# Build types beyond CMake's own: Asan (address + undefined) and Tsan.
set(CMAKE_CXX_FLAGS_ASAN "-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined")
set(CMAKE_C_FLAGS_ASAN "${CMAKE_CXX_FLAGS_ASAN}")
set(CMAKE_EXE_LINKER_FLAGS_ASAN "-fsanitize=address,undefined")
set(CMAKE_SHARED_LINKER_FLAGS_ASAN "-fsanitize=address,undefined")
# -Wno-tsan: g++ 12 warns that TSan does not model the atomic_thread_fence
# inside Boost.Asio's fenced blocks; the handlers around them are ordered by
# the scheduler's mutex, which TSan does see.
set(CMAKE_CXX_FLAGS_TSAN "-O1 -g -fsanitize=thread -fno-omit-frame-pointer")
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  string(APPEND CMAKE_CXX_FLAGS_TSAN " -Wno-tsan")
endif()
set(CMAKE_C_FLAGS_TSAN "${CMAKE_CXX_FLAGS_TSAN}")
set(CMAKE_EXE_LINKER_FLAGS_TSAN "-fsanitize=thread")
set(CMAKE_SHARED_LINKER_FLAGS_TSAN "-fsanitize=thread")

# cairn_cc_library(NAME name SRCS ... DEPS ... [PUBLIC_DEPS ...])
# Creates cairn_<name>; headers are included as "component/file.h" from src/.
function(cairn_cc_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;PUBLIC_DEPS" ${ARGN})
  set(target cairn_${ARG_NAME})
  add_library(${target} STATIC ${ARG_SRCS})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${target} PRIVATE ${CAIRN_WARNINGS})
  target_link_libraries(${target} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_DEPS})
endfunction()

# cairn_cc_test(NAME name SRCS ... DEPS ... [LABELS ...])
# A GoogleTest binary registered with CTest; tests/ mirrors src/. Every one
# is labelled "unit" (the fast tier: `scripts/test --fast`, `ctest -L unit`)
# besides any LABELS given.
function(cairn_cc_test)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  set(target ${ARG_NAME})
  add_executable(${target} ${ARG_SRCS})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_compile_options(${target} PRIVATE ${CAIRN_WARNINGS})
  target_link_libraries(${target} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  add_test(NAME ${target} COMMAND ${target})
  set_tests_properties(${target} PROPERTIES LABELS "unit;${ARG_LABELS}")
endfunction()

# cairn_cc_binary(NAME name SRCS ... DEPS ...)
function(cairn_cc_binary)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_include_directories(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${ARG_NAME} PRIVATE ${CAIRN_WARNINGS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
endfunction()

# cairn_fuzz_target(NAME name SRCS ... DEPS ...): a libFuzzer binary with a
# seed corpus folder fuzz/corpus/<name>/.
function(cairn_fuzz_target)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_include_directories(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${ARG_NAME} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${ARG_NAME} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
  if(NOT TARGET cairn_fuzz_targets)
    add_custom_target(cairn_fuzz_targets)
  endif()
  add_dependencies(cairn_fuzz_targets ${ARG_NAME})
endfunction()
