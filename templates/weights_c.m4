m4_dnl weights_c.m4 - NAME_weights.c, the weights compiled in.  The emitter
m4_dnl expands RN_WEIGHTS_BEGIN, a line RN_WEIGHTS_DATA, RN_WEIGHTS_END and
m4_dnl writes the data itself in place of the RN_WEIGHTS_DATA line (100 MB
m4_dnl of string through m4 would be slow).
m4_define(<:RN_WEIGHTS_BEGIN:>, <:RN_FILE_COMMENT(<:c:>, <:_weights.c:>)
/*
 * The weights of RN_MODEL: RN_WEIGHTS_BYTES bytes, the same as the file
 * RN_MODEL.weights would hold: a 64-byte header (magic, size, hash), then
 * every constant tensor, little-endian, at a 64-byte aligned offset.  As
 * string literals (printable bytes as themselves, the others as octal
 * escapes): compilers read them far faster and in far less memory than a
 * list of integers (docs/weights.md).
 */
#include "RN_MODEL.h"

#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Woverlength-strings"
#define RN_MODEL_UC<:_ALIGN64:> __attribute__((aligned(64)))
#else
#define RN_MODEL_UC<:_ALIGN64:>
#endif

const union RN_MODEL<:_weights_u:> RN_MODEL<:_weights_embedded:> RN_MODEL_UC<:_ALIGN64:> = {
:>)
m4_define(<:RN_WEIGHTS_END:>, <:};
:>)
