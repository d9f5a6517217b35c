# Installation layout and the Debian package (`cpack -G DEB` in the build directory):
#   /usr/bin/passeur, /etc/passeur/passeur.toml (conffile), /lib/systemd/system/passeur.service,
#   /usr/lib/sysusers.d/passeur.conf, /usr/lib/passeur/make-placeholder-certificate,
#   /usr/share/passeur/{examples,grafana,prometheus}/, /usr/share/man/man1/passeur.1.gz,
#   /usr/share/doc/passeur/{copyright,changelog.gz}.
# Paths outside the prefix are absolute on purpose: a Debian package puts them there.

set(PASSEUR_DEPLOY ${CMAKE_SOURCE_DIR}/deploy)

# Man page and changelog are shipped compressed, reproducibly (no name or time in the header).
find_program(GZIP_EXECUTABLE gzip REQUIRED)
set(PASSEUR_MAN_GZ ${CMAKE_BINARY_DIR}/passeur.1.gz)
set(PASSEUR_CHANGELOG_GZ ${CMAKE_BINARY_DIR}/changelog.gz)
add_custom_command(OUTPUT ${PASSEUR_MAN_GZ}
  COMMAND ${GZIP_EXECUTABLE} -9n -c ${PASSEUR_DEPLOY}/man/passeur.1 > ${PASSEUR_MAN_GZ}
  DEPENDS ${PASSEUR_DEPLOY}/man/passeur.1 VERBATIM)
add_custom_command(OUTPUT ${PASSEUR_CHANGELOG_GZ}
  COMMAND ${GZIP_EXECUTABLE} -9n -c ${PASSEUR_DEPLOY}/debian/changelog > ${PASSEUR_CHANGELOG_GZ}
  DEPENDS ${PASSEUR_DEPLOY}/debian/changelog VERBATIM)
add_custom_target(passeur_docs ALL DEPENDS ${PASSEUR_MAN_GZ} ${PASSEUR_CHANGELOG_GZ})

install(TARGETS passeur RUNTIME DESTINATION bin)
install(FILES ${PASSEUR_DEPLOY}/debian/passeur.toml DESTINATION /etc/passeur
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${PASSEUR_DEPLOY}/systemd/passeur.service DESTINATION /lib/systemd/system)
install(FILES ${PASSEUR_DEPLOY}/systemd/passeur.sysusers DESTINATION lib/sysusers.d
        RENAME passeur.conf)
install(PROGRAMS ${PASSEUR_DEPLOY}/debian/make-placeholder-certificate DESTINATION lib/passeur)
install(FILES ${PASSEUR_MAN_GZ} DESTINATION share/man/man1)
install(FILES ${PASSEUR_DEPLOY}/debian/copyright ${PASSEUR_CHANGELOG_GZ}
        DESTINATION share/doc/passeur)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${PASSEUR_DEPLOY}/MIGRATING.md
              ${PASSEUR_DEPLOY}/APPLICATIONS.md
        DESTINATION share/doc/passeur)
# Examples and monitoring files: the Grafana and Prometheus directories are picked up as soon as
# they exist (a new entry in deploy/ re-runs the configuration; a directory's files are copied
# as they are at install time).
file(GLOB PASSEUR_DEPLOY_ENTRIES CONFIGURE_DEPENDS ${PASSEUR_DEPLOY}/*)
file(GLOB PASSEUR_EXAMPLES CONFIGURE_DEPENDS ${PASSEUR_DEPLOY}/examples/*)
install(FILES ${PASSEUR_EXAMPLES} DESTINATION share/passeur/examples)
foreach(dir grafana prometheus keepalived)
  if(IS_DIRECTORY ${PASSEUR_DEPLOY}/${dir})
    install(DIRECTORY ${PASSEUR_DEPLOY}/${dir}/ DESTINATION share/passeur/${dir})
  endif()
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME passeur)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Passeur developers <passeur@example.coop>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "edge proxy for small hosters (HTTP, TLS, health checks)")
set(CPACK_PACKAGE_DESCRIPTION
  "One asynchronous daemon that replaces the HAProxy and nginx pair at the\n"
  "edge of a small hoster: it routes webmail and cloud HTTP by host and path\n"
  "to the least loaded node of a pool, terminates TLS with many certificates\n"
  "chosen by SNI, checks the health of every node, drains nodes for\n"
  "maintenance and reloads without closing a connection. It runs under\n"
  "systemd as an unprivileged user.")
string(REPLACE ";" "" CPACK_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # passeur_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# adduser and openssl for the maintainer scripts; the libraries come from dpkg-shlibdeps.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, openssl")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
# /etc/passeur/passeur.toml is a conffile: an upgrade never overwrites local changes.
file(WRITE ${CMAKE_BINARY_DIR}/debian-control/conffiles "/etc/passeur/passeur.toml\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_BINARY_DIR}/debian-control/conffiles
  ${PASSEUR_DEPLOY}/debian/postinst
  ${PASSEUR_DEPLOY}/debian/prerm
  ${PASSEUR_DEPLOY}/debian/postrm)
include(CPack)
