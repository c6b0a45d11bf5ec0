# Finds the CUDA toolkit, cuDNN, cuBLAS(Lt) and NCCL according to ALEXNET_CUDA (AUTO|ON|OFF).
# Result: ALEXNET_HAVE_CUDA (ON/OFF) and, when ON, the interface targets alexnet::cudart (the
# CUDA runtime: what the core needs), alexnet::cuda_libs (cuDNN, cuBLAS, cuBLASLt: the layers)
# and alexnet::nccl.
#
# The libraries are looked up beside the nvcc that CMake found (its toolkit root), not through
# CMake's FindCUDAToolkit: Debian 12's CMake 3.25 module fails on CUDA 13 (it marks the target
# CUDA::nvToolsExt deprecated although CUDA 13 no longer ships libnvToolsExt). We use no NVTX.
set(ALEXNET_HAVE_CUDA OFF)
string(TOUPPER "${ALEXNET_CUDA}" _alexnet_cuda_mode)
if(NOT _alexnet_cuda_mode MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "ALEXNET_CUDA must be AUTO, ON or OFF (got '${ALEXNET_CUDA}')")
endif()

# alexnet_find_cuda_lib(VAR NAME): VAR_LIBRARY = the shared library NAME in the toolkit's folders.
function(alexnet_find_cuda_lib var name)
  find_library(${var}_LIBRARY ${name}
    HINTS ${_alexnet_cuda_lib_hints}
    PATH_SUFFIXES lib64 lib targets/x86_64-linux/lib targets/sbsa-linux/lib lib/x86_64-linux-gnu)
endfunction()

if(NOT _alexnet_cuda_mode STREQUAL "OFF")
  # nvcc is usually not on PATH: look in the standard place before giving up.
  if(NOT DEFINED CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES "80;90" CACHE STRING "CUDA architectures")
    endif()
    enable_language(CUDA)
    set(CMAKE_CUDA_STANDARD 17)  # CMake 3.25 knows no CUDA20 flags for nvcc; .cu files need only C++17
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    # The toolkit root: nvcc's folder's parent (symlinks resolved), as CUDA's own layout has it.
    get_filename_component(_nvcc "${CMAKE_CUDA_COMPILER}" REALPATH)
    get_filename_component(_alexnet_cuda_root "${_nvcc}" DIRECTORY)
    get_filename_component(_alexnet_cuda_root "${_alexnet_cuda_root}" DIRECTORY)
    set(_alexnet_cuda_lib_hints ${_alexnet_cuda_root} ${CMAKE_CUDA_IMPLICIT_LINK_DIRECTORIES}
        /usr/local/cuda /usr)
    set(_inc_hints ${CMAKE_CUDA_TOOLKIT_INCLUDE_DIRECTORIES} ${_alexnet_cuda_root}/include
        ${_alexnet_cuda_root}/targets/x86_64-linux/include /usr/local/cuda/include /usr/include)
    find_path(CUDART_INCLUDE_DIR cuda_runtime_api.h HINTS ${_inc_hints})
    find_path(CUDNN_INCLUDE_DIR cudnn.h HINTS ${_inc_hints})
    find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${_inc_hints})
    foreach(lib cudart cublas cublasLt cudnn nccl)
      string(TOUPPER ${lib} _v)
      alexnet_find_cuda_lib(${_v} ${lib})
    endforeach()
    set(_missing "")
    foreach(v CUDART_INCLUDE_DIR CUDART_LIBRARY CUBLAS_LIBRARY CUBLASLT_LIBRARY
              CUDNN_INCLUDE_DIR CUDNN_LIBRARY NCCL_INCLUDE_DIR NCCL_LIBRARY)
      if(NOT ${v})
        list(APPEND _missing ${v})
      endif()
    endforeach()
    if(_missing)
      set(_why "CUDA compiler ${CMAKE_CUDA_COMPILER} found but not: ${_missing}")
    else()
      set(ALEXNET_HAVE_CUDA ON)
      add_library(alexnet_cudart INTERFACE)
      target_include_directories(alexnet_cudart SYSTEM INTERFACE ${CUDART_INCLUDE_DIR})
      target_link_libraries(alexnet_cudart INTERFACE ${CUDART_LIBRARY})
      target_compile_definitions(alexnet_cudart INTERFACE ALEXNET_HAVE_CUDA=1)
      add_library(alexnet::cudart ALIAS alexnet_cudart)
      add_library(alexnet_cuda_libs INTERFACE)
      target_include_directories(alexnet_cuda_libs SYSTEM INTERFACE ${CUDNN_INCLUDE_DIR})
      target_link_libraries(alexnet_cuda_libs INTERFACE
        ${CUBLAS_LIBRARY} ${CUBLASLT_LIBRARY} ${CUDNN_LIBRARY} alexnet::cudart)
      add_library(alexnet::cuda_libs ALIAS alexnet_cuda_libs)
      add_library(alexnet_nccl INTERFACE)
      target_include_directories(alexnet_nccl SYSTEM INTERFACE ${NCCL_INCLUDE_DIR})
      target_link_libraries(alexnet_nccl INTERFACE ${NCCL_LIBRARY} alexnet::cuda_libs)
      add_library(alexnet::nccl ALIAS alexnet_nccl)
    endif()
  else()
    set(_why "no CUDA compiler (nvcc) found")
  endif()
  if(NOT ALEXNET_HAVE_CUDA)
    if(_alexnet_cuda_mode STREQUAL "ON")
      message(FATAL_ERROR "ALEXNET_CUDA=ON but ${_why}")
    endif()
    message(STATUS "alexnet: CUDA backend OFF (${_why})")
  endif()
endif()
if(ALEXNET_HAVE_CUDA)
  message(STATUS "alexnet: CUDA backend ON (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, archs ${CMAKE_CUDA_ARCHITECTURES}, cuDNN ${CUDNN_LIBRARY}, NCCL ${NCCL_LIBRARY})")
elseif(_alexnet_cuda_mode STREQUAL "OFF")
  message(STATUS "alexnet: CUDA backend OFF (ALEXNET_CUDA=OFF)")
endif()
