# resnetc.cmake - resnetc_add_model(): a network compiled to C at build time,
# as a static library target to link.
#
#   resnetc_add_model(TARGET <target> MODEL <file.resnet|file.onnx>
#                     [WEIGHTS <file.safetensors|file.onnx>]
#                     [NAME <c_prefix>] [OUTPUT_DIR <dir>]
#                     [OPTIONS <resnetc options>...])
#
# At build time runs resnetc on MODEL (with --weights WEIGHTS when given)
# into OUTPUT_DIR (default: <binary dir>/resnetc/<target>), and builds the
# generated C into the static library <target>.  The C is regenerated when
# MODEL, WEIGHTS or resnetc itself change.  Linking <target> gives its
# users the generated header <NAME>.h on the include path; NAME defaults to
# <target> made a C identifier.  The weights are embedded in C source
# (--weights-mode embed), so the library needs no file at run time; with
# OPTIONS --weights-mode blob they go to <NAME>.weights, whose path the
# target property RESNETC_WEIGHTS_FILE gives, for you to load and pass to
# <NAME>_run().  Other OPTIONS go to resnetc as they are (-O0, --batch 4).
#
# Works with an installed resnetc (find_package(resnetc) defines the
# imported target resnetc::resnetc) and inside resnetc's own build (target
# resnetc).  RESNETC_EXECUTABLE, when set, overrides both.
include_guard(GLOBAL)

# The files resnetc writes for NAME, besides NAME_main.c and the Makefile
# (its demo driver, which a library leaves out).  Keep in step with
# compiler/emit.c.  out_data: the weights blob (blob mode), else empty.
function(_resnetc_outputs dir name mode out_sources out_headers out_data)
  set(${out_headers} "${dir}/${name}.h" PARENT_SCOPE)
  if(mode STREQUAL "blob")
    set(${out_sources} "${dir}/${name}.c" PARENT_SCOPE)
    set(${out_data} "${dir}/${name}.weights" PARENT_SCOPE)
  elseif(mode STREQUAL "embed")
    set(${out_sources} "${dir}/${name}.c" "${dir}/${name}_weights.c" PARENT_SCOPE)
    set(${out_data} "" PARENT_SCOPE)
  else()
    message(FATAL_ERROR "resnetc_add_model: --weights-mode must be embed or blob here, "
                        "not '${mode}' (the files to build must be known in advance)")
  endif()
endfunction()

function(resnetc_add_model)
  cmake_parse_arguments(PARSE_ARGV 0 RA "" "TARGET;MODEL;WEIGHTS;NAME;OUTPUT_DIR" "OPTIONS")
  if(RA_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "resnetc_add_model: unknown arguments: ${RA_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT RA_TARGET OR NOT RA_MODEL)
    message(FATAL_ERROR "resnetc_add_model: TARGET and MODEL are required")
  endif()

  get_filename_component(model "${RA_MODEL}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  if(NOT EXISTS "${model}")
    message(FATAL_ERROR "resnetc_add_model(${RA_TARGET}): no such model: ${model}")
  endif()
  set(weights_args "")
  set(weights "")
  if(RA_WEIGHTS)
    get_filename_component(weights "${RA_WEIGHTS}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(NOT EXISTS "${weights}")
      message(FATAL_ERROR "resnetc_add_model(${RA_TARGET}): no such weights file: ${weights}")
    endif()
    set(weights_args --weights "${weights}")
  endif()

  set(name "${RA_NAME}")
  if(NOT name)
    string(MAKE_C_IDENTIFIER "${RA_TARGET}" name)
  endif()
  set(dir "${RA_OUTPUT_DIR}")
  if(NOT dir)
    set(dir "${CMAKE_CURRENT_BINARY_DIR}/resnetc/${RA_TARGET}")
  endif()

  set(mode embed)
  list(FIND RA_OPTIONS "--weights-mode" i)
  if(i GREATER -1)
    math(EXPR i "${i} + 1")
    list(GET RA_OPTIONS ${i} mode)
    set(mode_args "")
  elseif(RA_OPTIONS MATCHES "--weights-mode=([a-z]+)")
    set(mode "${CMAKE_MATCH_1}")
    set(mode_args "")
  else()
    set(mode_args --weights-mode embed)
  endif()

  if(RESNETC_EXECUTABLE)
    set(exe "${RESNETC_EXECUTABLE}")
    set(exe_dep "${RESNETC_EXECUTABLE}")
  elseif(TARGET resnetc::resnetc)
    set(exe "$<TARGET_FILE:resnetc::resnetc>")
    set(exe_dep "$<TARGET_FILE:resnetc::resnetc>")
  elseif(TARGET resnetc)
    set(exe "$<TARGET_FILE:resnetc>")
    set(exe_dep resnetc)
  else()
    message(FATAL_ERROR "resnetc_add_model: no resnetc (find_package(resnetc) first)")
  endif()

  _resnetc_outputs("${dir}" "${name}" "${mode}" sources headers data)
  get_filename_component(model_name "${model}" NAME)
  add_custom_command(
    OUTPUT ${sources} ${headers} ${data}
    COMMAND "${exe}" -q "${model}" ${weights_args} --name "${name}" -o "${dir}"
            ${mode_args} ${RA_OPTIONS}
    DEPENDS "${model}" ${weights} ${exe_dep}
    COMMENT "resnetc: compiling ${model_name} to C (${name})"
    VERBATIM)
  add_library(${RA_TARGET} STATIC ${sources} ${headers})
  target_include_directories(${RA_TARGET} PUBLIC "$<BUILD_INTERFACE:${dir}>")
  if(RESNETC_RUNTIME_DIR AND IS_DIRECTORY "${RESNETC_RUNTIME_DIR}")
    target_include_directories(${RA_TARGET} PUBLIC "$<BUILD_INTERFACE:${RESNETC_RUNTIME_DIR}>")
  endif()
  set_target_properties(${RA_TARGET} PROPERTIES C_STANDARD 99 C_EXTENSIONS OFF
                        RESNETC_NAME "${name}" RESNETC_OUTPUT_DIR "${dir}"
                        RESNETC_WEIGHTS_FILE "${data}")
  find_library(_resnetc_libm m)
  if(_resnetc_libm)
    target_link_libraries(${RA_TARGET} PUBLIC ${_resnetc_libm})
  endif()
endfunction()
