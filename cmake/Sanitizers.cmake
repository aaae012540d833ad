# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
# CB_SANITIZE selects a sanitizer build.  The runtime's context switch reads
# CB_SANITIZE_ADDRESS / CB_SANITIZE_THREAD to tell the sanitizer about fibers.
if(CB_SANITIZE)
    string(REPLACE ";" "," _cb_san "${CB_SANITIZE}")
    add_compile_options(-fsanitize=${_cb_san} -fno-omit-frame-pointer -g)
    add_link_options(-fsanitize=${_cb_san})
    if("address" IN_LIST CB_SANITIZE)
        add_compile_definitions(CB_SANITIZE_ADDRESS=1)
    endif()
    if("undefined" IN_LIST CB_SANITIZE)
        add_compile_options(-fno-sanitize-recover=undefined)
    endif()
    if("thread" IN_LIST CB_SANITIZE)
        add_compile_definitions(CB_SANITIZE_THREAD=1)
    endif()
endif()
if(NOT CB_GUARD_PAGES)
    add_compile_definitions(CB_NO_GUARD_PAGES=1)
endif()
if(CB_VALGRIND)
    add_compile_definitions(CB_VALGRIND=1)
endif()
