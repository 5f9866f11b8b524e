/* optimise.h - the unit tests' one way to run a loaded graph through shape
 * inference and every -O2 pass, the IR verified between passes, as resnetc
 * does.  Returns 0, or 1 after a CU_FAIL naming WHAT and the error (the
 * caller still owns G and frees it). */
#ifndef RN_TEST_OPTIMISE_H
#define RN_TEST_OPTIMISE_H
#include "ir.h"
#include "passes.h"
#include "shape.h"
#include <stdio.h>
#include <string.h>
#include <CUnit/CUnit.h>

static int rn_optimise(Graph *g, const char *what) {
  IrTry t;
  if (ir_try_begin(&t)) {
    fprintf(stderr, "%s: optimising failed: %s\n", what, t.msg);
    CU_FAIL("optimising failed");
    return 1;
  }
  shape_infer_and_fold(g, 0);
  PassOptions po;
  memset(&po, 0, sizeof po);
  po.opt_level = 2;
  po.verify = 1;
  passes_run(g, &po);
  ir_try_end(&t);
  return 0;
}

#endif
