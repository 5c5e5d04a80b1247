# bpf_object(NAME [NO_HEADER] [DEPENDS FILE...])
#
# Compiles NAME.bpf.c of the calling folder for the BPF target with clang and
# turns the object into a libbpf skeleton header with `bpftool gen skeleton`,
# both at build time. NAME.h, the structs shared with user space, is a
# dependency unless NO_HEADER says the program shares none; DEPENDS names
# more headers of the folder that NAME.bpf.c includes. Defines the
# INTERFACE target NAME_skel; linking it puts NAME.skel.h on the include path
# and pulls in libbpf. The object itself is ${CMAKE_CURRENT_BINARY_DIR}/NAME.bpf.o.
find_program(BPF_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(BPF_TARGET_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(BPF_TARGET_ARCH arm64)
else()
  set(BPF_TARGET_ARCH ${CMAKE_SYSTEM_PROCESSOR})
endif()

# clang -target bpf does not search the multiarch include directory where
# Debian keeps <asm/types.h>.
set(BPF_MULTIARCH_INCLUDE /usr/include/${CMAKE_LIBRARY_ARCHITECTURE})

function(bpf_object NAME)
  cmake_parse_arguments(PARSE_ARGV 1 BPF "NO_HEADER" "" "DEPENDS")
  set(src ${CMAKE_CURRENT_SOURCE_DIR}/${NAME}.bpf.c)
  set(obj ${CMAKE_CURRENT_BINARY_DIR}/${NAME}.bpf.o)
  set(skel ${CMAKE_CURRENT_BINARY_DIR}/${NAME}.skel.h)
  set(deps ${src})
  if(NOT BPF_NO_HEADER)
    list(APPEND deps ${CMAKE_CURRENT_SOURCE_DIR}/${NAME}.h)
  endif()
  foreach(header IN LISTS BPF_DEPENDS)
    list(APPEND deps ${CMAKE_CURRENT_SOURCE_DIR}/${header})
  endforeach()
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${BPF_TARGET_ARCH}
            -Wall -Werror
            -I${CMAKE_CURRENT_SOURCE_DIR} -I${BPF_MULTIARCH_INCLUDE}
            -c ${src} -o ${obj}
    DEPENDS ${deps}
    COMMENT "BPF ${NAME}.bpf.c"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${NAME}_bpf > ${skel}
    DEPENDS ${obj}
    COMMENT "skeleton ${NAME}.skel.h"
    VERBATIM)
  add_custom_target(${NAME}_skel_gen DEPENDS ${skel})
  add_library(${NAME}_skel INTERFACE)
  add_dependencies(${NAME}_skel ${NAME}_skel_gen)
  target_include_directories(${NAME}_skel SYSTEM INTERFACE ${CMAKE_CURRENT_BINARY_DIR})
  target_include_directories(${NAME}_skel INTERFACE ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${NAME}_skel INTERFACE PkgConfig::LIBBPF)
endfunction()
