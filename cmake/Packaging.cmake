# The Debian package (issue 12): `cmake --build BUILD --target package`
# writes BUILD/bpfready_<version>_amd64.deb with CPack's DEB generator.
# Included from the top CMakeLists.txt after the subdirectories, so the
# install() rules of the tools (bin, sbin) are already known; man pages and
# bash completion bring their own install() rules (Manpages.cmake,
# Completion.cmake) and land in the package the same way.
#
# What the package holds, with CPACK_PACKAGING_INSTALL_PREFIX /usr:
#   /usr/bin/ebpf_diag, /usr/bin/syscount, /usr/sbin/tracefs-setup (stripped)
#   /usr/share/doc/bpfready/{*.md, copyright, changelog.gz}
#   /usr/share/lintian/overrides/bpfready
#   /lib/systemd/system/bpfready-audit.{service,timer}
# and the control files of packaging/debian (templates, config, postinst,
# prerm, postrm). docs/packaging.md describes all of it.
include(GNUInstallDirs)

set(BPFREADY_PACKAGE_MAINTAINER "bpfready maintainers <maintainers@users.noreply.h-seed-8a8474f0.example>"
    CACHE STRING "Maintainer field of the Debian package (Name <address>)")
set(BPFREADY_DEBIAN_DIR ${PROJECT_SOURCE_DIR}/packaging/debian)

# Documentation: every user document, the copyright file and the changelog
# Debian policy asks for (gzip -9n: no name, no time stamp, reproducible).
# A new document in docs/ is added here.
set(BPFREADY_DOCS architecture.md ebpf_diag-json.md ebpf_diag.md fleet.md fleet-ansible.md kernel-matrix.md packaging.md
                  syscount-json.md
                  syscount.md tracefs-setup.md)
list(TRANSFORM BPFREADY_DOCS PREPEND ${PROJECT_SOURCE_DIR}/docs/)
install(FILES ${BPFREADY_DOCS} ${BPFREADY_DEBIAN_DIR}/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})

configure_file(${BPFREADY_DEBIAN_DIR}/changelog.in ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog @ONLY)
add_custom_command(
  OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog.gz
  COMMAND gzip -9nc ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog > ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog.gz
  DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog
  COMMENT "Compressing the Debian changelog"
  VERBATIM)
add_custom_target(bpfready_changelog ALL DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog.gz)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})

install(FILES ${BPFREADY_DEBIAN_DIR}/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/lintian/overrides
        RENAME bpfready)

# The audit units run /usr/bin/ebpf_diag, so they are installed only where the
# tools land in /usr (the package, or `cmake --install` with prefix /usr);
# Debian 12 keeps packaged units in /lib/systemd/system. file(INSTALL) honours
# DESTDIR, which CPack sets to its staging directory.
set(BPFREADY_UNITS ${PROJECT_SOURCE_DIR}/systemd/bpfready-audit.service ${PROJECT_SOURCE_DIR}/systemd/bpfready-audit.timer)
install(CODE "
  if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
    file(INSTALL DESTINATION /lib/systemd/system TYPE FILE PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
         FILES ${BPFREADY_UNITS})
  else()
    message(STATUS \"Skipping the audit units (they run /usr/bin/ebpf_diag; the prefix is \${CMAKE_INSTALL_PREFIX})\")
  endif()")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME bpfready)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# Directories in the package are 0755 whatever the builder's umask.
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${BPFREADY_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "checks and sets up a host for eBPF profiling")
# The long description: CPack reads this file and puts the summary above it.
set(CPACK_PACKAGE_DESCRIPTION_FILE ${BPFREADY_DEBIAN_DIR}/description)
# Depends: the shared libraries' packages from dpkg-shlibdeps (libbpf1,
# libcap2, libmount1, zlib1g, libc6; libstdc++6 and libgcc-s1 only with
# BPFREADY_STATIC_LIBSTDCXX=OFF), plus what the
# hooks and tracefs-setup run: debconf for the question, passwd for
# groupadd/gpasswd/groupdel.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "debconf (>= 0.5) | debconf-2.0, passwd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${BPFREADY_DEBIAN_DIR}/templates ${BPFREADY_DEBIAN_DIR}/config ${BPFREADY_DEBIAN_DIR}/postinst
    ${BPFREADY_DEBIAN_DIR}/prerm ${BPFREADY_DEBIAN_DIR}/postrm)
# Policy modes for control files: scripts (config included) 0755, the rest 0644.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
