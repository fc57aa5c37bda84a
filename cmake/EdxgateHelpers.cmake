# Shared build settings for project targets (not for third-party code).

function(edxgate_target_settings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(EDXGATE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(EDXGATE_SANITIZE)
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
