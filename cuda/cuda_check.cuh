// QREG_CUDA_CHECK / QREG_CUBLAS_CHECK turn CUDA and cuBLAS status codes into qreg::Error at the host boundary.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "core/error.hpp"

#define QREG_CUDA_CHECK(expr)                                                                    \
  do {                                                                                           \
    const cudaError_t qreg_err_ = (expr);                                                        \
    if (qreg_err_ != cudaSuccess)                                                                \
      throw ::qreg::Error(std::string("cuda: ") + #expr + ": " + cudaGetErrorString(qreg_err_)); \
  } while (0)

#define QREG_CUBLAS_CHECK(expr)                                                                      \
  do {                                                                                               \
    const cublasStatus_t qreg_st_ = (expr);                                                          \
    if (qreg_st_ != CUBLAS_STATUS_SUCCESS)                                                           \
      throw ::qreg::Error(std::string("cublas: ") + #expr + ": " + cublasGetStatusString(qreg_st_)); \
  } while (0)
