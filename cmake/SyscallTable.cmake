# Defines the INTERFACE target syscall_table: the syscall numbers and names of
# the build architecture, generated at build time from the kernel UAPI header
# into syscall_table.inc (one `{NR, "name"},` line per syscall), so that the
# names are never typed by hand and follow the installed headers.

set(SYSCALL_UAPI_HEADER "" CACHE FILEPATH "UAPI header listing __NR_ syscall numbers")
if(NOT SYSCALL_UAPI_HEADER)
  foreach(candidate
      /usr/include/${CMAKE_LIBRARY_ARCHITECTURE}/asm/unistd_64.h
      /usr/include/asm/unistd_64.h)
    if(EXISTS ${candidate})
      set(SYSCALL_UAPI_HEADER ${candidate} CACHE FILEPATH "" FORCE)
      break()
    endif()
  endforeach()
endif()
if(NOT SYSCALL_UAPI_HEADER OR NOT EXISTS ${SYSCALL_UAPI_HEADER})
  message(FATAL_ERROR "syscall table: no asm/unistd_64.h found; install linux-libc-dev "
                      "or set SYSCALL_UAPI_HEADER")
endif()

set(SYSCALL_TABLE_DIR ${CMAKE_BINARY_DIR}/generated/syscalls)
set(SYSCALL_TABLE_INC ${SYSCALL_TABLE_DIR}/syscall_table.inc)
add_custom_command(
  OUTPUT ${SYSCALL_TABLE_INC}
  COMMAND ${CMAKE_COMMAND} -DINPUT=${SYSCALL_UAPI_HEADER} -DOUTPUT=${SYSCALL_TABLE_INC}
          -P ${CMAKE_CURRENT_LIST_DIR}/syscount_gen_syscalls.cmake
  DEPENDS ${SYSCALL_UAPI_HEADER} ${CMAKE_CURRENT_LIST_DIR}/syscount_gen_syscalls.cmake
  COMMENT "syscall table from ${SYSCALL_UAPI_HEADER}"
  VERBATIM)
add_custom_target(syscall_table_gen DEPENDS ${SYSCALL_TABLE_INC})
add_library(syscall_table INTERFACE)
add_dependencies(syscall_table syscall_table_gen)
target_include_directories(syscall_table INTERFACE ${SYSCALL_TABLE_DIR})
