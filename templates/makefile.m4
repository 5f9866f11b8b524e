m4_dnl makefile.m4 - the Makefile of a generated model.  RN_MAKEFILE prints it.
m4_define(<:RN_MAKEFILE:>, <:RN_FILE_COMMENT(<:sh:>, <: Makefile:>)
#
# make              builds ./RN_MODEL, the command-line driver (RN_MODEL<:_main.c:>)
# make clean        removes what make built
# make profile      builds ./RN_MODEL<:_profile:>, which prints per layer the time,
#                   GFLOP/s and % of the FMA peak after its run or --bench N
#                   (the flag -D<::>RN_MODEL_UC<:_PROFILE:> of RN_MODEL.c)
#
# The defaults build for this machine.  For another target, override CC and
# CFLAGS, e.g.
#   make CC=aarch64-linux-gnu-gcc CFLAGS="-O3 -mcpu=cortex-a76 -std=c99"
#   make CC=arm-none-eabi-gcc CFLAGS="-O2 -mcpu=cortex-m7 -std=c99" RN_MODEL.o
# To use the model in another program, compile RN_MODEL.c m4_ifelse(RN_WEIGHTS_EMBEDDED, 1, <:and RN_MODEL<:_weights.c:> :>)with it
# and call RN_MODEL<:_run:>() as RN_MODEL.h documents.
CC ?= cc
CFLAGS ?= -O3 -march=native -std=c99
LDLIBS ?= -lm

OBJS = RN_MODEL.o RN_MODEL<:_main.o:>m4_ifelse(RN_WEIGHTS_EMBEDDED, 1, <: RN_MODEL<:_weights.o:>:>)

RN_MODEL: $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $<::>@ $(OBJS) $(LDLIBS)

RN_MODEL.o: RN_MODEL.c RN_MODEL.h
	$(CC) $(CFLAGS) -c -o $<::>@ RN_MODEL.c

RN_MODEL<:_main.o:>: RN_MODEL<:_main.c:> RN_MODEL.h
	$(CC) $(CFLAGS) -c -o $<::>@ RN_MODEL<:_main.c:>
m4_ifelse(RN_WEIGHTS_EMBEDDED, 1, <:
RN_MODEL<:_weights.o:>: RN_MODEL<:_weights.c:> RN_MODEL.h
	$(CC) $(CFLAGS) -c -o $<::>@ RN_MODEL<:_weights.c:>
:>)
RN_MODEL<:_profile:>: RN_MODEL.c RN_MODEL<:_main.c:> RN_MODEL.h m4_ifelse(RN_WEIGHTS_EMBEDDED, 1, <:RN_MODEL<:_weights.o:>:>)
	$(CC) $(CFLAGS) -D<::>RN_MODEL_UC<:_PROFILE:> $(LDFLAGS) -o $<::>@ RN_MODEL.c RN_MODEL<:_main.c:> m4_ifelse(RN_WEIGHTS_EMBEDDED, 1, <:RN_MODEL<:_weights.o:>:>) $(LDLIBS)

profile: RN_MODEL<:_profile:>

clean:
	rm -f RN_MODEL RN_MODEL<:_profile:> $(OBJS)

.PHONY: clean profile
:>)
