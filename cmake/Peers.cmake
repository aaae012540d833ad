# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# The real systems (peers/<system>/, runner/peer.c) compiled at build
# time: erlc for beam, `go build` (stdlib only, GOPROXY=off) for go, javac
# for jvm, Clojure's ahead-of-time compile of the program and core.async
# for core.async, each by its own `run --prepare` into
# ${CB_PEER_CACHE}/<system>, the folder the runner then uses (compiled
# into it as CB_PEER_CACHE_DIR; $CONCBENCH_CACHE still overrides it).
#
# A system's step reruns only when a file of its folder changed since
# its stamp, so an up to date build costs nothing; a missing toolchain is
# skipped with its reason and never fails the build (no stamp: the next
# build looks again).  The runner's --prepare at its first run stays the
# fallback: it notices a stale cache (a new JDK) and recompiles.
#
# Off by default in sanitizer builds: the real systems are not C, their
# tests skip there (tests/test_peers.py), and the Clojure compile costs a
# minute per build tree.
if(CB_SANITIZE)
    set(_cb_peers_default OFF)
else()
    set(_cb_peers_default ON)
endif()
option(CB_PEERS "Compile the real systems in peers/ at build time when their toolchains are installed" ${_cb_peers_default})
set(CB_PEER_CACHE "${CMAKE_BINARY_DIR}/peer-cache" CACHE PATH
    "Where the build compiles the real systems (the runner's cache for them)")

if(CB_PEERS)
    file(GLOB _cb_peer_dirs LIST_DIRECTORIES true CONFIGURE_DEPENDS
         ${CMAKE_SOURCE_DIR}/peers/*)
    set(_cb_peer_stamps "")
    foreach(_dir IN LISTS _cb_peer_dirs)
        if(NOT IS_DIRECTORY ${_dir} OR NOT EXISTS ${_dir}/run)
            continue()
        endif()
        get_filename_component(_name ${_dir} NAME)
        file(GLOB_RECURSE _src CONFIGURE_DEPENDS ${_dir}/*)
        set(_stamp ${CB_PEER_CACHE}/${_name}.prepared)
        add_custom_command(
            OUTPUT ${_stamp}
            COMMAND ${CMAKE_SOURCE_DIR}/scripts/prepare-peer.sh ${_dir}
                    ${CB_PEER_CACHE} ${_stamp}
            DEPENDS ${_src} ${CMAKE_SOURCE_DIR}/scripts/prepare-peer.sh
            COMMENT "Preparing the real system ${_name} (peers/${_name})"
            VERBATIM)
        list(APPEND _cb_peer_stamps ${_stamp})
    endforeach()
    add_custom_target(peers ALL DEPENDS ${_cb_peer_stamps})
    target_compile_definitions(cb_runner PRIVATE
                               CB_PEER_CACHE_DIR="${CB_PEER_CACHE}")
endif()
