/* tear.c — the power-cut sweep (see tear.h). */
#include "tear.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

static void power_back_on(const tear_scenario *s, void *ctx)
{
    if (s->power_on) s->power_on(ctx);
    else chip_power_on(s->chip_of(ctx));
}

uint32_t tear_sweep(const tear_scenario *s, void *arg)
{
    void *ctx = s->setup(arg);
    assert_non_null(ctx);
    chip_set_tear(s->chip_of(ctx), 0);
    int rc = s->run(ctx);
    uint32_t writes = chip_page_writes_since_arm(s->chip_of(ctx));
    if (rc != 0) fail_msg("%s: the uncut run failed (%d)", s->name, rc);
    rc = s->check(ctx, 0);
    if (rc != 0) fail_msg("%s: invariant broken on the uncut run (%d)", s->name, rc);
    s->teardown(ctx);

    for (uint32_t cut = 1; cut <= writes; cut++) {
        ctx = s->setup(arg);
        assert_non_null(ctx);
        chip_set_tear(s->chip_of(ctx), cut);
        (void)s->run(ctx);
        if (!chip_tear_fired(s->chip_of(ctx)))
            fail_msg("%s: the cut at write %u of %u never fired (the flow is not deterministic)",
                     s->name, cut, writes);
        power_back_on(s, ctx);
        rc = s->check(ctx, cut);
        if (rc != 0) fail_msg("%s: invariant broken after a power cut at write %u of %u (%d)",
                              s->name, cut, writes, rc);
        s->teardown(ctx);
    }
    return writes;
}
