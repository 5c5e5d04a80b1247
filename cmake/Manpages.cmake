# Man pages ebpf_diag(8), syscount(8) and tracefs-setup(8), rendered at build
# time by scdoc from their one source each, docs/man/NAME.8.scd (see
# docs/man/README.md), into BUILD/man/NAME.8 and BUILD/man/NAME.8.gz
# (gzip -9n: no name or time stamp, so the same source gives the same bytes),
# and installed into share/man/man8.
#
# Included from the top CMakeLists.txt. The same file is also the build-time
# step (cmake -P cmake/Manpages.cmake with SCDOC, GZIP, SOURCE, PAGE and
# SOURCE_DIR set), because scdoc reads its input on stdin and writes its
# output on stdout, which a custom command cannot redirect portably.

if(CMAKE_SCRIPT_MODE_FILE)
  # The date in the page's footer: SOURCE_DATE_EPOCH when the build has one
  # (reproducible builds), else the date of the last commit that changed
  # the source, else scdoc's default (today).
  if(NOT DEFINED ENV{SOURCE_DATE_EPOCH})
    find_program(GIT git)
    if(GIT)
      execute_process(COMMAND ${GIT} log -1 --format=%ct -- ${SOURCE}
                      WORKING_DIRECTORY ${SOURCE_DIR}
                      OUTPUT_VARIABLE commit_time OUTPUT_STRIP_TRAILING_WHITESPACE
                      ERROR_QUIET RESULT_VARIABLE git_status)
      if(git_status EQUAL 0 AND commit_time MATCHES "^[0-9]+$")
        set(ENV{SOURCE_DATE_EPOCH} ${commit_time})
      endif()
    endif()
  endif()
  execute_process(COMMAND ${SCDOC} INPUT_FILE ${SOURCE} OUTPUT_FILE ${PAGE}
                  ERROR_VARIABLE scdoc_error RESULT_VARIABLE scdoc_status)
  if(NOT scdoc_status EQUAL 0)
    file(REMOVE ${PAGE})
    message(FATAL_ERROR "scdoc failed on ${SOURCE}: ${scdoc_error}")
  endif()
  execute_process(COMMAND ${GZIP} -9n -c ${PAGE} OUTPUT_FILE ${PAGE}.gz
                  RESULT_VARIABLE gzip_status)
  if(NOT gzip_status EQUAL 0)
    file(REMOVE ${PAGE}.gz)
    message(FATAL_ERROR "gzip failed on ${PAGE}")
  endif()
  return()
endif()

include(GNUInstallDirs)

find_program(SCDOC scdoc)
if(NOT SCDOC)
  message(FATAL_ERROR "scdoc not found: the man pages are rendered by scdoc at build time. "
                      "Install the Debian package scdoc (setup/install-deps.sh installs it).")
endif()
find_program(GZIP gzip)
if(NOT GZIP)
  message(FATAL_ERROR "gzip not found: the man pages are compressed by gzip. "
                      "Install the Debian package gzip.")
endif()

set(BPFREADY_MAN_DIR ${CMAKE_BINARY_DIR}/man)
file(MAKE_DIRECTORY ${BPFREADY_MAN_DIR})
set(bpfready_man_pages)
foreach(page ebpf_diag.8 syscount.8 tracefs-setup.8)
  set(source ${PROJECT_SOURCE_DIR}/docs/man/${page}.scd)
  set(rendered ${BPFREADY_MAN_DIR}/${page})
  add_custom_command(
    OUTPUT ${rendered} ${rendered}.gz
    COMMAND ${CMAKE_COMMAND} -DSCDOC=${SCDOC} -DGZIP=${GZIP} -DSOURCE=${source} -DPAGE=${rendered}
            -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -P ${CMAKE_CURRENT_LIST_DIR}/Manpages.cmake
    DEPENDS ${source} ${CMAKE_CURRENT_LIST_DIR}/Manpages.cmake
    COMMENT "Rendering man page ${page}"
    VERBATIM)
  list(APPEND bpfready_man_pages ${rendered}.gz)
endforeach()
add_custom_target(manpages ALL DEPENDS ${bpfready_man_pages})
install(FILES ${bpfready_man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
