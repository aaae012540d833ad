# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
# One warning policy for every target; CI turns warnings into errors.
add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes
                    -Wmissing-prototypes -Wno-unused-parameter)
if(CB_WERROR)
    add_compile_options(-Werror)
endif()
