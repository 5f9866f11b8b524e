m4_dnl model_h.m4 - NAME.h, the API of a generated model.  RN_HEADER prints
m4_dnl the whole file from the facts (see common.m4).
m4_define(<:RN_IO_H_PARAM:>, <:m4_ifelse(<:$1:>, <:in:>, <:const :>)$4 *$3,
 *       :>)
m4_define(<:RN_IO_H_DOC:>, <: *   $1<::>put $2 m4_ifelse(<:$1:>, <:in:>, <: :>)$3  $5[m4_translit(<:$6:>, <: :>)]  '$9'
:>)
m4_define(<:RN_IO_H_MACROS:>, <:m4_pushdef(<:RN_P:>, RN_MODEL<:_:>m4_translit(<:$1:>, <:a-z:>, <:A-Z:>)<:$2_:>)m4_dnl
<:#define :>RN_P<:NAME "$9"
#define :>RN_P<:TYPE $4
#define :>RN_P<:DTYPE "$5"
#define :>RN_P<:RANK :>RN_RANK(<:$6:>)<:
#define :>RN_P<:SHAPE {:>m4_ifelse(<:$6:>, <::>, <:0:>, <:$6:>)<:}
#define :>RN_P<:NUMEL $7
#define :>RN_P<:BYTES $8
:>m4_popdef(<:RN_P:>):>)
m4_define(<:RN_HEADER:>, <:RN_FILE_COMMENT(<:c:>, <:.h:>)
/*
 * The API of RN_MODEL, a standalone C99 implementation of the network
 * (no malloc, no global state, libc and libm only):
 *
 *   int RN_MODEL<:_run:>(RN_FOREACH_IO(<:RN_IO_H_PARAM:>)void *arena, const void *weights);
 *
 * runs the network once.  Every graph input is a caller buffer of its
 * element type in row-major order (RN_MODEL<:_INi_*:> below); every output
 * buffer (RN_MODEL<:_OUTi_*:>) is written completely.  Buffers must not
 * overlap.  arena: RN_MODEL<:_ARENA_BYTES:> bytes of scratch memory, aligned
 * to RN_MODEL<:_ALIGN:> bytes (malloc'ed memory rounded up, or a static
 * array with an alignment attribute); its contents need not survive between
 * calls.  weights: m4_ifelse(RN_WEIGHTS_EMBEDDED, 1, <:NULL to use the weights compiled into
 * RN_MODEL<:_weights.c:>, or the contents of a RN_MODEL<:.weights:> blob:>, <:the contents of the file
 * RN_MODEL<:.weights:>:>), RN_MODEL<:_WEIGHTS_BYTES:> bytes
 * aligned to RN_MODEL<:_ALIGN:> bytes, unchanged while the call runs.
 * Returns RN_MODEL<:_OK:> (0) or an RN_MODEL<:_ERR_*:> code below; the
 * call is reentrant (give concurrent calls separate arenas).
 *
 * Inputs and outputs:
RN_FOREACH_IO(<:RN_IO_H_DOC:>)m4_dnl
 */
#ifndef RN_MODEL_UC<:_GENERATED_H:>
#define RN_MODEL_UC<:_GENERATED_H:>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RN_MODEL<:_ARENA_BYTES:> RN_ARENA_BYTES
#define RN_MODEL<:_WEIGHTS_BYTES:> RN_WEIGHTS_BYTES
#define RN_MODEL<:_WEIGHTS_EMBEDDED:> RN_WEIGHTS_EMBEDDED
#define RN_MODEL<:_ALIGN:> 64
#define RN_MODEL<:_NUM_INPUTS:> RN_NIN
#define RN_MODEL<:_NUM_OUTPUTS:> RN_NOUT

/* Status codes of RN_MODEL<:_run:>. */
#define RN_MODEL<:_OK:> 0
#define RN_MODEL<:_ERR_NULL:> 1    /* a required pointer is NULL */
#define RN_MODEL<:_ERR_ALIGN:> 2   /* arena or weights not aligned to RN_MODEL<:_ALIGN:> */
#define RN_MODEL<:_ERR_WEIGHTS:> 3 /* the weights blob is not this model's */
#define RN_MODEL<:_ERR_ENDIAN:> 4  /* the host is not little-endian */
#define RN_MODEL<:_ERR_INDEX:> 5   /* a Gather index was out of range (its
                                  rows of the result are zeros) */

/* Per input (RN_MODEL<:_INi_*:>) and output (RN_MODEL<:_OUTi_*:>): name, element
 * type (C type and ONNX name), rank, shape, element count and bytes.
 * SHAPE has RANK entries ({0} when RANK is 0). */
RN_FOREACH_IO(<:RN_IO_H_MACROS:>)m4_dnl

int RN_MODEL<:_run:>(RN_RUN_PARAMS);

#ifdef RN_MODEL_UC<:_PROFILE:>
/* The profile build (-D<::>RN_MODEL_UC<:_PROFILE:>, make profile): prints per
 * layer the mean time of its calls so far, GFLOP/s and % of peak. */
void RN_MODEL<:_profile_report:>(void);
#endif
m4_ifelse(RN_WEIGHTS_EMBEDDED, 1, <:
/* The weights compiled into RN_MODEL<:_weights.c:> (used when weights is
 * NULL): one byte more than the blob, room for a string's NUL. */
extern const union RN_MODEL<:_weights_u:> {
  unsigned char bytes[RN_WEIGHTS_BYTES + 1];
  double align_;
} RN_MODEL<:_weights_embedded:>;
:>)m4_dnl

#ifdef __cplusplus
}
#endif
#endif
:>)
