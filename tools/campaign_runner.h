/*
 * campaign_runner.h — the terminal side of a campaign over many simulated
 * cards at once: each job is one card image and its P_AUT; worker threads
 * each open a card, play P_AUT + P_SE + AUTHORIZE_ACTION to it
 * (campaign_play), check ST when given the host session, and close it.
 *
 * Why threads. In full durability every writing APDU ends with its own
 * fdatasync (persist/chip.h), and one card of the broadcast update makes
 * about eight of them: one card at a time, the campaign waits on the disk
 * ~8 times per card. Cards are independent files, so several cards in
 * flight overlap their syncs (the kernel serves concurrent cache flushes
 * together) without weakening any of them: every APDU is still durable
 * before its response is used. In lab mode the work is CPU-bound and the
 * workers use the cores. Card objects are per thread; nothing is shared
 * but the read-only P_SE and campaign.
 *
 * The caller keeps all registry work (one thread): it prepares a batch of
 * jobs (P_AUT issued, "playing" recorded), runs it, then records results.
 */
#ifndef CARDVM_CAMPAIGN_RUNNER_H
#define CARDVM_CAMPAIGN_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "campaign_core.h"
#include "chip.h"

typedef struct campaign_job {
    /* in */
    const char *image;             /* card image path */
    const apdu_list *paut;         /* this card's P_AUT */
    const campaign_card *card;     /* with h: check ST against it */
    scp03_host_session *h;         /* P_AUT's host session, or NULL (no ST check) */
    /* out */
    int rv;                        /* campaign_play's result; CAMPAIGN_ERR_IO: image not opened, or
                                      a commit failed (6581): err says why; CAMPAIGN_ERR_ST */
    uint8_t reply[600];            /* ATHZ response (ST under R-MAC/R-ENC) */
    size_t reply_len;
    uint32_t reported;             /* counter the card reported in INITIALIZE UPDATE */
    uint16_t sw;
    campaign_st st;                /* with h, when rv == CAMPAIGN_OK */
    char err[400];                 /* "PATH: what: system error" */
} campaign_job;

typedef struct campaign_runner {
    const apdu_list *pse;
    enum chip_durability durability;
    unsigned workers;              /* 0: campaign_runner_default_workers */
    unsigned lock_wait_ms;         /* 0: the chip's default */
} campaign_runner;

/* A good number of workers: the online CPUs in lab mode; more in full
 * durability, where workers mostly wait on fdatasync. */
unsigned campaign_runner_default_workers(enum chip_durability d);

/* Play every job (in any order, r->workers at a time). Sets the process's
 * malloc thresholds (mallopt) so that card buffers are reused from one card
 * to the next instead of being returned to the kernel and faulted in again. Returns CAMPAIGN_OK
 * once all have run (each job's rv says how it went), or CAMPAIGN_ERR_PARAM
 * when no thread could be started (nothing ran). */
int campaign_run_jobs(const campaign_runner *r, const campaign *c, campaign_job *jobs, size_t n);

#endif
