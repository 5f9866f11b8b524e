m4_changequote(<:,:>)m4_changecom()m4_divert(-1)
m4_dnl common.m4 - helpers every resnetc template shares.  Always first.
m4_dnl
m4_dnl How the emitter drives m4 (m4 -P: every builtin is spelled m4_...):
m4_dnl for each generated file it writes one m4 input made of common.m4, the
m4_dnl templates of that file, then facts about the model (RN_MODEL,
m4_dnl RN_IOS...) and one macro call per section or layer.  Quotes are <: :>
m4_dnl and comments are off, so C text ('x', #include, commas in comments)
m4_dnl passes through untouched.  Words starting with RN_, P_ or m4_ are
m4_dnl macros: C text in templates never uses such identifiers.  Strings
m4_dnl that come from the user (names, the command line) arrive quoted twice
m4_dnl and sanitised, so they are never expanded.
m4_dnl
m4_dnl Definitions print nothing: the output is diverted away until the
m4_dnl emitter's m4_divert(0) after the facts.
m4_dnl
m4_dnl Kernels.  The emitter writes, once per distinct specialisation,
m4_dnl     RN_KERNEL(<:OP:>, <:base_name:>, <:n:>, <:K1,<:v1:>,K2,<:v2:>...:>)
m4_dnl which defines P_K1 = v1 ... (the layer's constants), picks the first
m4_dnl ISA in RN_ISAS for which a template defines RN_OP__isa (and whose
m4_dnl optional predicate RN_OP__isa_OK expands to 1), sets RN_FNAME to
m4_dnl base_name__isa_n and expands RN_OP__isa, which prints one static
m4_dnl function.  The run function then calls it through RN_FN(base, n).
m4_dnl A fast kernel is added by a template defining RN_CONV__avx2 (and
m4_dnl RN_CONV__avx2_OK to decline shapes it does not handle): the emitter
m4_dnl and the scalar template stay as they are.
m4_dnl
m4_dnl RN_FAIL(msg): stop m4 with an error naming the template and kernel.
m4_define(<:RN_FAIL:>, <:m4_errprint(<:resnetc: template error:>m4_ifdef(<:RN_FNAME:>, <: in RN_FNAME:>)<:: $1
:>)m4_m4exit(<:1:>):>)
m4_dnl
m4_dnl RN_PARAMS(K1, v1, K2, v2, ...) pushes P_K1 = v1 ...; RN_UNPARAMS pops.
m4_define(<:RN_PARAMS:>, <:m4_ifelse(<:$1:>, <::>, <::>,
<:m4_pushdef(<:P_$1:>, <:$2:>)RN_PARAMS(m4_shift(m4_shift($@))):>):>)
m4_define(<:RN_UNPARAMS:>, <:m4_ifelse(<:$1:>, <::>, <::>,
<:m4_popdef(<:P_$1:>)RN_UNPARAMS(m4_shift(m4_shift($@))):>):>)
m4_dnl
m4_dnl RN_NEED(K1, K2, ...): fail unless every P_Ki is defined.
m4_define(<:RN_NEED:>, <:m4_ifelse(<:$1:>, <::>, <::>,
<:m4_ifdef(<:P_$1:>, <::>, <:RN_FAIL(<:missing parameter $1:>):>)RN_NEED(m4_shift($@)):>):>)
m4_dnl
m4_dnl RN_ENUM(K1, K2, ...) -> enum { K1 = v1, K2 = v2 };  the integer
m4_dnl constants of a kernel, named as in the template's comment.
m4_define(<:RN_ENUM:>, <:RN_NEED($@)enum { RN_ENUM_($@) };:>)
m4_define(<:RN_ENUM_:>, <:m4_ifelse(<:$#:>, <:1:>, <:$1 = P_$1:>,
<:$1 = P_$1, RN_ENUM_(m4_shift($@)):>):>)
m4_dnl
m4_dnl RN_ONEOF(K, a, b, ...): fail unless P_K is one of a, b, ...
m4_define(<:RN_ONEOF:>, <:RN_NEED(<:$1:>)m4_ifelse(RN_ONEOF_(P_$1, m4_shift($@)), <:1:>, <::>,
<:RN_FAIL(<:parameter $1 = :>P_$1<: is not one of: m4_shift($@):>):>):>)
m4_define(<:RN_ONEOF_:>, <:m4_ifelse(<:$2:>, <::>, <:0:>, <:$1:>, <:$2:>, <:1:>,
<:RN_ONEOF_(<:$1:>, m4_shift(m4_shift($@))):>):>)
m4_dnl
m4_dnl RN_FOR(var, from, to, text): text for var = from .. to-1 (var is a
m4_dnl macro inside text).  Empty when from >= to.
m4_define(<:RN_FOR:>, <:m4_ifelse(m4_eval(<:$2 < $3:>), <:1:>,
<:m4_pushdef(<:$1:>, <:$2:>)$4<::>m4_popdef(<:$1:>)RN_FOR(<:$1:>, m4_incr(<:$2:>), <:$3:>, <:$4:>):>):>)
m4_dnl
m4_dnl Nested loops over R dimensions D0..D(R-1) (enum constants):
m4_dnl   RN_IDX_DECL(R)      int i0, i1;            (nothing when R = 0)
m4_dnl   RN_LOOPS(R)         for (i0 = 0; i0 < D0; i0++) for (i1 ...)
m4_dnl   RN_OFF(S, R)        (i0 * S0 + i1 * S1)    (0 when R = 0)
m4_define(<:RN_IDX_DECL:>, <:m4_ifelse(<:$1:>, <:0:>, <::>, <:int RN_FOR(<:RN_i:>, 0, $1, <:m4_ifelse(RN_i, 0, , <:, :>)<:i:>RN_i:>);:>):>)
m4_define(<:RN_LOOPS:>, <:RN_FOR(<:RN_i:>, 0, $1, <:<:for (i:>RN_i<: = 0; i:>RN_i<: < D:>RN_i<:; i:>RN_i<:++) :>:>):>)
m4_define(<:RN_OFF:>, <:m4_ifelse(<:$2:>, <:0:>, <:0:>, <:(RN_FOR(<:RN_i:>, 0, $2, <:m4_ifelse(RN_i, 0, , <: + :>)<:i:>RN_i<: * $1:>RN_i:>)):>):>)
m4_dnl
m4_dnl The fused epilogue of Conv and Gemm: RN_ACT(v) applies P_ACT to the
m4_dnl accumulator v in place (none, relu, clip with P_ACT_LO/P_ACT_HI,
m4_dnl leakyrelu with P_ACT_ALPHA), as ir.h defines Attrs.act; RN_POST_ACT(v)
m4_dnl applies P_POST_ACT (Conv's second output) the same way.
m4_define(<:RN_ACT_:>, <:m4_ifelse(<:$2:>, <:none:>, <::>,
<:$2:>, <:relu:>, <:$1 = $1 > 0 ? $1 : 0;:>,
<:$2:>, <:clip:>, <:$1 = $1 < $3 ? $3 : $1 > $4 ? $4 : $1;:>,
<:$2:>, <:leakyrelu:>, <:$1 = $1 < 0 ? $1 * $5 : $1;:>,
<:RN_FAIL(<:unknown activation $2:>):>):>)
m4_define(<:RN_ACT:>, <:RN_ACT_(<:$1:>, P_ACT, P_ACT_LO, P_ACT_HI, P_ACT_ALPHA):>)
m4_define(<:RN_POST_ACT:>, <:RN_ACT_(<:$1:>, P_POST_ACT, P_POST_LO, P_POST_HI, P_POST_ALPHA):>)
m4_dnl
m4_dnl RN_MATH(name): the libm function for P_T (expf for float, exp for double).
m4_define(<:RN_MATH:>, <:m4_ifelse(P_T, <:float:>, <:$1f:>, <:$1:>):>)
m4_dnl
m4_dnl Helpers printed once per file, before the first kernel that needs them.
m4_define(<:RN_HELPER:>, <:m4_ifdef(<:rn_helper_done_$1:>, <::>,
<:m4_define(<:rn_helper_done_$1:>, <:1:>)m4_indir(<:RN_HELPER_$1:>):>):>)
m4_dnl RN_NOINLINE: put before a kernel's "static void", after
m4_dnl RN_HELPER(<:noinline:>) at the top level of the file (outside any
m4_dnl #if of the kernel, so every body sees the definition): the heavy kernels
m4_dnl stay functions of their own.  A kernel called once is otherwise
m4_dnl inlined into the run function, where the compiler allocates its
m4_dnl registers worse (the 7x7 stem of ResNet-18: 4.3 ms inlined, 2.7 ms not).
m4_define(<:RN_HELPER_noinline:>, <:#if defined(__GNUC__)
#define rn_noinline __attribute__((noinline))
#else
#define rn_noinline
#endif
:>)
m4_define(<:RN_NOINLINE:>, <:rn_noinline :>)
m4_dnl
m4_dnl ISA selection and kernel instantiation (see the top of this file).
m4_define(<:RN_PICK_ISA:>, <:m4_ifelse(<:$2:>, <::>,
<:RN_FAIL(<:no template defines a kernel for $1:>):>,
<:m4_ifelse(m4_ifdef(<:RN_$1__$2:>, <:RN_ISA_OK(<:$1:>, <:$2:>):>, <:0:>), <:1:>, <:$2:>,
<:RN_PICK_ISA(<:$1:>, m4_shift(m4_shift($@))):>):>):>)
m4_define(<:RN_ISA_OK:>, <:m4_ifdef(<:RN_$1__$2_OK:>, <:m4_indir(<:RN_$1__$2_OK:>):>, <:1:>):>)
m4_define(<:RN_KERNEL:>, <:RN_PARAMS($4)m4_pushdef(<:RN_ISA:>, RN_PICK_ISA(<:$1:>, RN_ISAS))m4_dnl
m4_pushdef(<:RN_FNAME:>, <:$2__:>RN_ISA<:_$3:>)m4_dnl
m4_define(<:rn_fn:$2:$3:>, RN_FNAME)m4_dnl
m4_indir(<:RN_$1__:>RN_ISA)m4_dnl
m4_popdef(<:RN_FNAME:>)m4_popdef(<:RN_ISA:>)RN_UNPARAMS($4):>)
m4_define(<:RN_FN:>, <:m4_ifdef(<:rn_fn:$1:$2:>, <:m4_defn(<:rn_fn:$1:$2:>):>,
<:RN_FAIL(<:call of undefined kernel $1 $2:>):>):>)
m4_dnl
m4_dnl The comment that opens every generated file.  $1: the comment style
m4_dnl (c or sh), $2: what the file is.
m4_define(<:RN_FILE_COMMENT:>, <:m4_ifelse(<:$1:>, <:c:>,
<:/*
 * RN_MODEL<::>$2 - generated by resnetc RN_VERSION from RN_SOURCE.
 * Command line: RN_CMDLINE:>m4_ifelse(RN_HAS_NOTE, 1, <:
 * RN_NOTE:>)<:
 * Generated, do not edit.
 */:>, <:# RN_MODEL<::>$2 - generated by resnetc RN_VERSION from RN_SOURCE.
# Command line: RN_CMDLINE:>m4_ifelse(RN_HAS_NOTE, 1, <:
# RN_NOTE:>)<:
# Generated, do not edit.:>):>)
m4_dnl
m4_dnl RN_PV(K): the value of parameter K (a name built from pieces).
m4_define(<:RN_PV:>, <:m4_ifdef(<:P_$1:>, <:m4_indir(<:P_$1:>):>, <:RN_FAIL(<:missing parameter $1:>):>):>)
m4_dnl RN_ENUM_ARRAY(S, R): enum { S0 = v0, S1 = v1 ... };  nothing if R is 0.
m4_define(<:RN_ENUM_ARRAY:>, <:m4_ifelse(<:$2:>, <:0:>, <::>,
<:enum { RN_FOR(<:RN_j:>, 0, $2, <:m4_ifelse(RN_j, 0, , <:, :>)<:$1:>RN_j<: = :>RN_PV($1<::>RN_j):>) };:>):>)
m4_dnl
m4_dnl Facts about the model the emitter defines before the calls:
m4_dnl   RN_MODEL RN_MODEL_UC     the C prefix, and upper-cased for guards
m4_dnl   RN_VERSION RN_CMDLINE RN_SOURCE
m4_dnl   RN_HAS_NOTE (0/1) RN_NOTE   a line for the header comment
m4_dnl   RN_ISAS                  ISA preference list, e.g. <:avx2, scalar:>
m4_dnl   RN_ARENA_BYTES RN_WEIGHTS_BYTES RN_WEIGHTS_EMBEDDED (0/1)
m4_dnl   RN_WEIGHTS_HEADER        the blob's first 24 bytes, C initialiser
m4_dnl   RN_NIN RN_NOUT           number of graph inputs and outputs
m4_dnl   RN_IOS                   one RN_IO(dir, i, cname, ctype, dtype,
m4_dnl                            <:dims:>, numel, bytes, <:name:>) per input
m4_dnl                            (dir in) then per output (dir out): an
m4_dnl                            X-macro each template expands with its own
m4_dnl                            RN_IO (m4_pushdef/m4_popdef).
m4_dnl RN_NARGS(...): the number of arguments; RN_RANK(<:dims:>): 0 if empty.
m4_define(<:RN_NARGS:>, <:$#:>)
m4_define(<:RN_RANK:>, <:m4_ifelse(<:$1:>, <::>, 0, <:RN_NARGS($1):>)m4_dnl
:>)
m4_dnl RN_FOREACH_IO(M): expands RN_IOS with RN_IO defined as the macro M
m4_dnl (defined at top level: a $n inside another macro's body would be
m4_dnl replaced by that macro's arguments).
m4_define(<:RN_FOREACH_IO:>, <:m4_pushdef(<:RN_IO:>, m4_defn(<:$1:>))RN_IOS<::>m4_popdef(<:RN_IO:>):>)
m4_dnl RN_RUN_PARAMS: the parameter list of NAME_run.
m4_define(<:RN_IO_PARAM:>, <:m4_ifelse(<:$1:>, <:in:>, <:const :>)$4 *$3, :>)
m4_define(<:RN_RUN_PARAMS:>, <:RN_FOREACH_IO(<:RN_IO_PARAM:>)<:void *arena, const void *weights:>:>)
