# Shared build settings for project targets (not for third-party code).

function(edxgate_target_settings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # Checks the locking the thread annotations state (base/thread_annotations.h:
    # GUARDED_BY, REQUIRES, ... on edxgate::Mutex); GCC has no such analysis.
    target_compile_options(${target} PRIVATE -Wthread-safety)
  endif()
  if(EDXGATE_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 reports false -Wmaybe-uninitialized inside libstdc++ (std::regex,
    # std::function) when instrumenting; keep it out of this build only.
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
  if(EDXGATE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(EDXGATE_FUZZ)
  # Everything is instrumented for coverage; only fuzz targets link libFuzzer.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
  add_custom_target(edxgate_fuzzers)  # `cmake --build B --target edxgate_fuzzers`
elseif(EDXGATE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

# edxgate_add_library(NAME SOURCES... [DEPS...]) - a part library with its
# public headers in <folder>/include.
function(edxgate_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_link_libraries(${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  edxgate_target_settings(${name})
endfunction()

# edxgate_add_gtest(NAME LABEL label SOURCES... DEPS...) - a GoogleTest binary
# registered with CTest, every test carrying the part's label.
include(GoogleTest)
function(edxgate_add_gtest name)
  cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "SOURCES;DEPS" ${ARGN})
  if(EDXGATE_FUZZ)
    # A fuzz build builds and runs only the fuzz targets; an empty target keeps
    # add_dependencies(<test> ...) in the tests' CMakeLists valid.
    add_custom_target(${name})
    return()
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    EDXGATE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    EDXGATE_BINARY_DIR="${PROJECT_BINARY_DIR}")
  edxgate_target_settings(${name})
  gtest_discover_tests(${name}
    DISCOVERY_MODE PRE_TEST
    PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT}
               ENVIRONMENT "EDXGATE_BINARY_DIR=${PROJECT_BINARY_DIR}")
endfunction()

# edxgate_add_fuzzer(NAME LABEL label SOURCES... DEPS... [SECONDS n] [CORPUS dir])
# A libFuzzer target (clang, EDXGATE_FUZZ=ON only), registered with CTest under
# the "fuzz" label: it runs for SECONDS from the seed corpus in CORPUS and
# fails on any crash, leak, or input slower than 10 s.
function(edxgate_add_fuzzer name)
  if(NOT EDXGATE_FUZZ)
    return()
  endif()
  cmake_parse_arguments(ARG "" "LABEL;SECONDS;CORPUS" "SOURCES;DEPS" ${ARGN})
  if(NOT ARG_SECONDS)
    set(ARG_SECONDS 60)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  edxgate_target_settings(${name})
  add_dependencies(edxgate_fuzzers ${name})
  set(work ${CMAKE_CURRENT_BINARY_DIR}/${name}-corpus)
  set(seeds "")
  if(ARG_CORPUS)
    set(seeds ${ARG_CORPUS})
  endif()
  add_test(NAME ${name}
    COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
            $<TARGET_FILE:${name}> -max_total_time=${ARG_SECONDS} -timeout=10
            -rss_limit_mb=2048 -print_final_stats=1 ${work} ${seeds})
  set_tests_properties(${name} PROPERTIES LABELS "fuzz;${ARG_LABEL}"
                       TIMEOUT ${ARG_SECONDS}0)
  file(MAKE_DIRECTORY ${work})
endfunction()

# edxgate_sanitizer_light_sources(TARGET SOURCES...) - in a sanitizer build,
# compile these sources of TARGET (paths relative to its source directory)
# with EDXGATE_SANITIZE_LIGHT_FLAGS, still instrumented. Meant for the few
# translation units that instantiate Boost.Beast/Asio: at -O2 -g with
# ASan+UBSan they dominate a build from scratch. gateway/src/server.cc on a
# loaded 2-core box (load 5-9), wall time of the one compile:
#   -O2 -g  1345 s (a 516 MB assembly file, 159 MB object)
#   -O1 -g  1471 s    -O1 -g1  937 s    -O0 -g1  214 s (104 s CPU)
# The debug info and the code volume cost, not one pass: -O0 -g1 it is.
# Line tables stay, so sanitizer reports still name file:line.
set(EDXGATE_SANITIZE_LIGHT_FLAGS -O0 -g1 CACHE STRING
    "Options for the heaviest translation units in a sanitizer build")
function(edxgate_sanitizer_light_sources target)
  if(NOT EDXGATE_SANITIZE OR NOT TARGET ${target})
    return()
  endif()
  get_target_property(dir ${target} SOURCE_DIR)
  foreach(src IN LISTS ARGN)
    set_property(SOURCE ${dir}/${src} TARGET_DIRECTORY ${target}
                 APPEND PROPERTY COMPILE_OPTIONS ${EDXGATE_SANITIZE_LIGHT_FLAGS})
  endforeach()
endfunction()
