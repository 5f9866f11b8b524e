m4_dnl model_c.m4 - NAME.c: the layer functions and NAME_run.
m4_dnl
m4_dnl The emitter writes RN_C_BEGIN, then one RN_KERNEL per distinct layer
m4_dnl function (see common.m4), then RN_RUN_BEGIN, one RN_CALL or RN_COPY
m4_dnl per node in execution order, and RN_RUN_END.
m4_dnl   RN_CALL(<:comment:>, <:base:>, <:n:>, <:args:>, <:kind:>): calls
m4_dnl     kernel (base, n); kind status: it returns nonzero on bad data.
m4_dnl   RN_COPY(<:comment:>, <:dst:>, <:src:>, <:bytes:>): a memcpy.
m4_dnl Pointer arguments are expressions over the run's parameters, A (the
m4_dnl arena) and W (the weights after the blob header).
m4_define(<:RN_C_BEGIN:>, <:RN_FILE_COMMENT(<:c:>, <:.c:>)
/*
 * The network as a list of calls to layer functions.  Each function is
 * specialised to one layer shape: every dimension, stride, pad and trip
 * count is an enum constant, so the compiler unrolls and vectorises.
 * Function names say dtype, op, shape class, fused epilogue and ISA
 * (rn_f32_conv2d_k3s1_relu__scalar_1).  Activations live in the caller's
 * arena at offsets fixed at compile time, weights in one blob.
 */
#include "RN_MODEL.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
:>)
m4_define(<:RN_IO_CHECK:>, <:m4_ifelse(<:$7:>, <:0:>, <::>, <:  if (!$3)
    return RN_MODEL<:_ERR_NULL:>;
:>):>)
m4_define(<:RN_IO_VOID:>, <:  (void)$3;
:>)
m4_define(<:RN_RUN_BEGIN:>, <:
/* The first bytes of the weights blob: magic, size and hash. */
static const unsigned char RN_MODEL<:_weights_header:>[24] = {
  RN_WEIGHTS_HEADER
};

int RN_MODEL<:_run:>(RN_RUN_PARAMS)
{
  unsigned char *const A = (unsigned char *)arena;
  const unsigned char *W = (const unsigned char *)weights;
  const uint32_t one = 1;
  unsigned char first;
  int status = 0;

  memcpy(&first, &one, 1);
  if (first != 1)
    return RN_MODEL<:_ERR_ENDIAN:>;
RN_FOREACH_IO(<:RN_IO_CHECK:>)m4_dnl
  if (!A && RN_MODEL<:_ARENA_BYTES:> > 0)
    return RN_MODEL<:_ERR_NULL:>;
m4_ifelse(RN_WEIGHTS_EMBEDDED, 1, <:  if (!W)
    W = RN_MODEL<:_weights_embedded:>.bytes;
:>, <:  if (!W)
    return RN_MODEL<:_ERR_NULL:>;
:>)m4_dnl
  if ((uintptr_t)A % RN_MODEL<:_ALIGN:> != 0 || (uintptr_t)W % RN_MODEL<:_ALIGN:> != 0)
    return RN_MODEL<:_ERR_ALIGN:>;
  if (memcmp(W, RN_MODEL<:_weights_header:>, sizeof RN_MODEL<:_weights_header:>) != 0)
    return RN_MODEL<:_ERR_WEIGHTS:>;
  W += 64;
  (void)A;
  (void)W;
RN_FOREACH_IO(<:RN_IO_VOID:>)m4_dnl
:>)
m4_define(<:RN_CALL:>, <:
  /* $1 */
  m4_ifelse(<:$5:>, <:status:>, <:status |= :>)RN_FN(<:$2:>, <:$3:>)($4);
:>)
m4_define(<:RN_COPY:>, <:
  /* $1 */
  memcpy($2, $3, $4);
:>)
m4_define(<:RN_RUN_END:>, <:
  return status ? RN_MODEL<:_ERR_INDEX:> : RN_MODEL<:_OK:>;
}
:>)
