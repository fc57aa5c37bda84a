# Shared build settings for project targets (not for third-party code).

function(edxgate_target_settings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
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
