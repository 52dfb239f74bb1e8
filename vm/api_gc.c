/*
 * api_gc.c — the object deletion service behind
 * JCSystem.requestObjectDeletion(): the persistent and transient objects of
 * the requesting context that nothing can reach any more are deleted and
 * their NVM and RAM given back.
 *
 * Reachability is decided conservatively, so a live object is never
 * deleted: every word that may hold a reference counts as one when it
 * names a live handle. Roots: every object of another context and of the
 * JCRE (whatever they hold is kept), the applet instances, the static
 * reference fields of every package (the reference area of its static
 * field image), the whole VM stack (every frame's
 * locals and operands, stale words included), the exception singletons
 * and a pending thrown object. From there, instance objects' slots and
 * reference arrays' elements are followed. A short that happens to equal a
 * handle keeps that object: the price of never needing to know a layout.
 *
 * Inside a transaction (or an install) the request is a no-op: an
 * object deleted there could come back with the abort's undo of its
 * allocation, its handle reused meanwhile. Outside one every NVM change
 * here is part of the command and a power cut rolls it all back.
 */
#include <stdlib.h>
#include <string.h>

#include "api_support.h"

typedef struct gc_marks {
    vm_runtime *rt;
    uint8_t *marked;
    uint16_t *work;
    uint32_t n;
} gc_marks;

static void mark(gc_marks *g, uint16_t h)
{
    vm_runtime *rt = g->rt;
    if (h == 0 || h >= rt->obj_cap || rt->objs[h].kind == VM_OBJ_FREE || g->marked[h])
        return;
    g->marked[h] = 1;
    g->work[g->n++] = h;
}

static void mark_words(gc_marks *g, const uint8_t *p, uint32_t words)
{
    for (uint32_t i = 0; i < words; i++)
        mark(g, vm_rd16(p + 2 * i));
}

static void mark_roots(gc_marks *g, uint8_t owner)
{
    vm_runtime *rt = g->rt;
    for (uint32_t h = 1; h < rt->obj_cap; h++)
        if (rt->objs[h].kind != VM_OBJ_FREE && (h < VM_H_FIRST_DYNAMIC || rt->objs[h].pkg != owner))
            mark(g, (uint16_t)h);
    for (unsigned i = 0; i < VM_MAX_INSTANCES; i++)
        if (rt->insts[i].used)
            mark(g, rt->insts[i].obj);
    for (unsigned s = 1; s <= VM_MAX_PACKAGES; s++) {
        const vm_lpkg *lp = &rt->pkgs[s];
        if (!lp->used || !lp->statics_off)
            continue;
        if (lp->cap)
            mark_words(g, rt->nvm + lp->statics_off, lp->cap->view.sf_reference_count);
    }
    for (uint32_t i = 0; rt->stack && i < rt->cfg.stack_slots; i++)
        mark(g, rt->stack[i]);
    for (unsigned i = 0; i < sizeof rt->api_exc / sizeof rt->api_exc[0]; i++)
        mark(g, rt->api_exc[i].h);
    mark(g, rt->thrown);
    mark(g, rt->uncaught);
}

int api_collect_garbage(vm_runtime *rt, uint8_t owner, unsigned *freed)
{
    *freed = 0;
    if (owner == 0 || rt->tx_open || rt->guard)
        return 0;
    gc_marks g = { rt, calloc(rt->obj_cap, 1), malloc(rt->obj_cap * sizeof(uint16_t)), 0 };
    if (!g.marked || !g.work) {
        free(g.marked);
        free(g.work);
        return VM_ERR_NOMEM;
    }
    mark_roots(&g, owner);
    while (g.n) {
        const vm_obj *o = &rt->objs[g.work[--g.n]];
        if (o->kind == VM_OBJ_INSTANCE || o->kind == VM_OBJ_REFS)
            mark_words(&g, o->data, o->length);
    }
    int rc = 0;
    for (uint32_t h = VM_H_FIRST_DYNAMIC; h < rt->obj_cap && !rc; h++) {
        if (rt->objs[h].kind == VM_OBJ_FREE || g.marked[h] || rt->objs[h].pkg != owner)
            continue;
        rc = vm_obj_free(rt, (uint16_t)h);
        if (!rc)
            (*freed)++;
    }
    free(g.marked);
    free(g.work);
    return rc;
}
