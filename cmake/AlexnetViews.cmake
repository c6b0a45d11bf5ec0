# Include views: how the build enforces the direction of dependencies between folders.
#
# Every include of the project is qualified by its folder's view name ("core/tensor.h",
# "layers/conv.h", "model/model.h"). A target does not see the source tree: it compiles against a
# folder of its own (build/include-views/<target>) holding, for each view it may use, links to
# that folder's headers (not its sub-folders). A target lists only its own view and those below
# it (core <- layers <- io <- model <- parallel <- run <- cli), so an include that runs the wrong
# way is "file not found" at build time. layers/cpu and layers/cuda are private to the layers.
#
# One hole the compiler leaves: a quoted include is first looked up beside the including file, and
# layers/ holds core/, cpu/ and cuda/; so the layer front ends in layers/ are checked by a scan
# (alexnet_check_front_ends) at every build instead.

set(ALEXNET_VIEW_core ${PROJECT_SOURCE_DIR}/layers/core)
set(ALEXNET_VIEW_layers ${PROJECT_SOURCE_DIR}/layers)
set(ALEXNET_VIEW_cpu ${PROJECT_SOURCE_DIR}/layers/cpu)
set(ALEXNET_VIEW_cuda ${PROJECT_SOURCE_DIR}/layers/cuda)
set(ALEXNET_VIEW_io ${PROJECT_SOURCE_DIR}/io)
set(ALEXNET_VIEW_model ${PROJECT_SOURCE_DIR}/trainer/model)
set(ALEXNET_VIEW_parallel ${PROJECT_SOURCE_DIR}/trainer/parallel)
set(ALEXNET_VIEW_run ${PROJECT_SOURCE_DIR}/trainer/run)
set(ALEXNET_VIEW_cli ${PROJECT_SOURCE_DIR}/trainer/cli)

# alexnet_include_views(<target> <view>...): <target> may include the headers of these views.
function(alexnet_include_views target)
  set(root ${CMAKE_BINARY_DIR}/include-views/${target})
  file(REMOVE_RECURSE ${root})
  foreach(view IN LISTS ARGN)
    if(NOT DEFINED ALEXNET_VIEW_${view})
      message(FATAL_ERROR "alexnet_include_views(${target}): no view '${view}'")
    endif()
    file(MAKE_DIRECTORY ${root}/${view})
    file(GLOB headers CONFIGURE_DEPENDS ${ALEXNET_VIEW_${view}}/*.h ${ALEXNET_VIEW_${view}}/*.cuh)
    foreach(h IN LISTS headers)
      get_filename_component(name ${h} NAME)
      file(CREATE_LINK ${h} ${root}/${view}/${name} SYMBOLIC)
    endforeach()
  endforeach()
  target_include_directories(${target} PRIVATE ${root})
endfunction()

# The layer front ends (layers/*.h, layers/*.cpp) include core/ and layers/ only: their backends
# are reached through the factory, never by header. Checked by a scan at every build, before the
# layers compile (cmake/CheckFrontEnds.cmake).
function(alexnet_check_front_ends target)
  add_custom_target(alexnet_check_front_ends
    COMMAND ${CMAKE_COMMAND} -DDIR=${PROJECT_SOURCE_DIR}/layers -P ${PROJECT_SOURCE_DIR}/cmake/CheckFrontEnds.cmake
    COMMENT "Checking that the layer front ends include no backend header")
  add_dependencies(${target} alexnet_check_front_ends)
endfunction()
