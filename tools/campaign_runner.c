/* campaign_runner.c — see campaign_runner.h. */
#include "campaign_runner.h"

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <tomcrypt.h>
#include <unistd.h>

#include "card.h"
#include "scp03.h"
#include "vm.h"

typedef struct pool {
    const campaign_runner *r;
    const campaign *c;
    campaign_job *jobs;
    size_t n, next;
    pthread_mutex_t mu;
} pool;

unsigned campaign_runner_default_workers(enum chip_durability d)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = cpus > 0 ? (unsigned)cpus : 1u;
    return d == CHIP_DURABLE_LAB ? n : 8u * n;
}

static int send_card(void *ctx, const uint8_t *cmd, size_t n, uint8_t *rsp, size_t cap, size_t *rlen)
{
    return card_transmit(ctx, cmd, n, rsp, cap, rlen);
}

/* The card is opened holding its image's lock (it is powered at once), with
 * the worker's pool of chip buffers. */
static void run_one(const campaign_runner *r, const campaign *c, chip_pool *pool, vm_rom_trust *trust,
                    campaign_job *j)
{
    card *cd;
    chip *ch;
    j->err[0] = 0;
    j->reply_len = 0;
    j->reported = 0;
    j->sw = 0;
    if (chip_open_pooled(j->image, CHIP_OPEN_LOCK, r->lock_wait_ms, pool, &ch, j->err, sizeof j->err)) {
        j->rv = CAMPAIGN_ERR_IO;
        return;
    }
    if (card_from_chip_trusting(ch, trust, &cd)) {
        snprintf(j->err, sizeof j->err, "%s: cannot start the card", j->image);
        chip_close(ch);
        j->rv = CAMPAIGN_ERR_IO;
        return;
    }
    chip_set_durability(ch, r->durability);
    if (card_power(cd, CARD_COLD, NULL, NULL)) {
        snprintf(j->err, sizeof j->err, "%s", chip_error(ch));
        j->rv = CAMPAIGN_ERR_IO;
        card_close(cd);
        return;
    }
    j->rv = campaign_play(send_card, cd, j->paut, r->pse, j->reply, sizeof j->reply, &j->reply_len, &j->reported,
                          &j->sw);
    /* 6581 from our own card: its commit failed and was rolled back; the
     * system error is the chip's. */
    if (j->sw == 0x6581 && chip_error(ch)[0]) {
        snprintf(j->err, sizeof j->err, "%s", chip_error(ch));
        j->rv = CAMPAIGN_ERR_IO;
    }
    /* Save a lab-mode card (a failed save is a failed card), then close it:
     * closing the image drops its lock (no separate power-off and unlock). */
    if (chip_save(ch) != CHIP_OK && !j->err[0]) {
        snprintf(j->err, sizeof j->err, "%s", chip_error(ch));
        j->rv = CAMPAIGN_ERR_IO;
    }
    card_close(cd);
    if (j->rv == CAMPAIGN_OK && j->h && j->card)
        j->rv = campaign_check_st(c, j->card, j->h, j->reply, j->reply_len, &j->st);
}

static void *worker(void *arg)
{
    pool *p = arg;
    chip_pool *chips = NULL;
    vm_rom_trust *trust = NULL;
    (void)chip_pool_new(&chips);        /* without one, cards just allocate */
    (void)vm_rom_trust_new(&trust);     /* without one, every card verifies its ROM */
    for (;;) {
        pthread_mutex_lock(&p->mu);
        size_t i = p->next < p->n ? p->next++ : p->n;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->n) break;
        run_one(p->r, p->c, chips, trust, &p->jobs[i]);
    }
    chip_pool_free(chips);
    vm_rom_trust_free(trust);
    return NULL;
}

int campaign_run_jobs(const campaign_runner *r, const campaign *c, campaign_job *jobs, size_t n)
{
    if (!r || !c || (!jobs && n)) return CAMPAIGN_ERR_PARAM;
    /* libtomcrypt's descriptor tables are written only here, before any
     * thread starts; the workers then only look them up. */
    if (scp03_crypto_init() != SCP03_OK || register_cipher(&aes_desc) < 0 || register_hash(&sha256_desc) < 0)
        return CAMPAIGN_ERR_CRYPTO;
    /* Every card opened allocates about 1 MB of chip buffers and frees them
     * at close; with glibc's defaults those come from mmap or are trimmed
     * back to the kernel at every close, and the next card faults them in
     * again page by page: 8x the whole lab-mode cost. Keep them. */
    mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
    unsigned w = r->workers ? r->workers : campaign_runner_default_workers(r->durability);
    if (w > n) w = (unsigned)n;
    if (w <= 1) {
        chip_pool *chips = NULL;
        vm_rom_trust *trust = NULL;
        (void)chip_pool_new(&chips);
        (void)vm_rom_trust_new(&trust);
        for (size_t i = 0; i < n; i++) run_one(r, c, chips, trust, &jobs[i]);
        chip_pool_free(chips);
        vm_rom_trust_free(trust);
        return CAMPAIGN_OK;
    }
    pool p = {r, c, jobs, n, 0, PTHREAD_MUTEX_INITIALIZER};
    pthread_t tid[256];
    if (w > 256) w = 256;
    unsigned started = 0;
    for (; started < w; started++)
        if (pthread_create(&tid[started], NULL, worker, &p)) break;
    if (!started) return CAMPAIGN_ERR_PARAM;
    for (unsigned i = 0; i < started; i++) pthread_join(tid[i], NULL);
    pthread_mutex_destroy(&p.mu);
    return CAMPAIGN_OK;
}
