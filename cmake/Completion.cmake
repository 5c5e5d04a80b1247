# Bash completion for the three tools: one file per command, named as the
# command, so that bash-completion loads it on demand the first time the
# command is completed (PREFIX/share/bash-completion/completions/NAME;
# bash-completion 2.11 searches the share/ directories of XDG_DATA_DIRS,
# by default /usr/local/share and /usr/share, and
# ~/.local/share/bash-completion/completions).
# Included from the top CMakeLists.txt; tested by tests/completion.

include(GNUInstallDirs)

install(FILES
          ${PROJECT_SOURCE_DIR}/setup/completion/ebpf_diag
          ${PROJECT_SOURCE_DIR}/setup/completion/syscount
          ${PROJECT_SOURCE_DIR}/setup/completion/tracefs-setup
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
