/*
 * tear.h — power-cut sweeps for NVM-writing flows (tests only).
 *
 * A scenario is run once with no cut to count the NVM/OTP page writes it
 * makes (n). It is then re-run from a fresh setup n times; run k arms a power
 * cut after the k-th page write, lets the flow fail wherever the cut lands,
 * powers the chip back on (rolling back uncommitted writes) and asks the
 * scenario to check its invariant — typically "the old state or the new state,
 * never a mix", often after reopening the card image from its file.
 *
 * Every flow that writes NVM is tested this way; the sweep fails the calling
 * cmocka test on the first broken invariant, naming the write index.
 */
#ifndef CARDVM_TEST_TEAR_H
#define CARDVM_TEST_TEAR_H

#include <stdint.h>
#include "chip.h"

typedef struct tear_scenario {
    const char *name;
    /* Build a fresh starting state; returns the scenario's context. */
    void *(*setup)(void *arg);
    /* The chip the flow writes (the one to arm). */
    chip *(*chip_of)(void *ctx);
    /* Run the flow. It must cope with writes failing with CHIP_ERR_POWER.
     * Its return value is ignored when a cut fired. */
    int (*run)(void *ctx);
    /* Optional: power the card back on after a cut (e.g. card_power, which
     * also resets the layers above the chip). NULL: chip_power_on(chip). */
    void (*power_on)(void *ctx);
    /* After the flow (and after power-on when `torn`), check the invariant.
     * `cut_at` is the write index of the cut, 0 for the uncut reference run.
     * Return 0 when it holds; otherwise a nonzero code (message on stderr). */
    int (*check)(void *ctx, uint32_t cut_at);
    void (*teardown)(void *ctx);
} tear_scenario;

/* Runs the sweep. Returns the number of page writes of the uncut run (so the
 * caller can assert the flow writes at all), fails the cmocka test on any
 * broken invariant. */
uint32_t tear_sweep(const tear_scenario *s, void *arg);

#endif
