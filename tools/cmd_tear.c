/*
 * cmd_tear.c — `cardvm tear SCRIPT IMAGE [--json] [--junit FILE]
 * [--max-points N] [--resets]`: a tearing campaign (tools/tear/tear_run.h,
 * docs/tearing.md). Exit status 0: every cut point ended in the before- or
 * after-state; 1: a torn state (or the script fails uncut); 2: usage.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tear_run.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: cardvm tear SCRIPT IMAGE [--json] [--junit FILE] [--max-points N] [--resets] [-I DIR]...\n\n"
            "Cut power at every NVM write of the commands between `tear` and `end` in a\n"
            "`cardvm script` SCRIPT (docs/scripts.md), power on, run the `check APDU` lines\n"
            "after a SELECT of the applet selected there, and report every state that is\n"
            "neither the state before the command nor after it, with the write index and\n"
            "the bytecode (package, method, pc, transaction depth) that was writing.\n"
            "IMAGE is not modified: every run starts from an in-memory copy.\n\n"
            "Options:\n"
            "  --json          the report as JSON on stdout (instead of text)\n"
            "  --junit FILE    also write a JUnit XML report (one testcase per command)\n"
            "  --max-points N  at most N cut points per command, evenly spread\n"
            "  --resets        also reset the card between the commands of a tear block\n"
            "  -I, --path DIR  look for load files in DIR too; repeatable\n\n"
            "Exit status: 0 clean, 1 torn (or the script fails without a cut), 2 usage.\n");
}

int cmd_tear(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) { help(stdout); return 0; }
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"junit", required_argument, 0, 'u'},
                                         {"max-points", required_argument, 0, 'm'},
                                         {"resets", no_argument, 0, 'r'},
                                         {"path", required_argument, 0, 'I'},
                                         {0, 0, 0, 0}};
    tear_options opt;
    memset(&opt, 0, sizeof opt);
    int json = 0, c;
    const char *junit = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "I:", opts, NULL)) != -1) {
        if (c == 'j') json = 1;
        else if (c == 'u') junit = optarg;
        else if (c == 'r') opt.resets = 1;
        else if (c == 'I' && opt.npaths < 8) opt.paths[opt.npaths++] = optarg;
        else if (c == 'm') {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 1000000) { cli_error("tear", "--max-points: a number from 1, not '%s'", optarg); return 2; }
            opt.max_points = (uint32_t)v;
        } else { help(stderr); return 2; }
    }
    if (argc - optind != 2) { help(stderr); return 2; }
    tear_campaign tc;
    if (tear_campaign_init(&tc, argv[optind], argv[optind + 1], &opt, stderr)) {
        tear_campaign_free(&tc);
        return 2;
    }
    int status = 1;
    if (tear_campaign_run(&tc, stderr) == 0) {
        status = tear_campaign_torn(&tc) ? 1 : 0;
        if (json) tear_report_json(&tc, stdout);
        else tear_report_text(&tc, stdout);
        if (junit) {
            FILE *f = fopen(junit, "w");
            if (!f || tear_report_junit(&tc, f) || fclose(f)) {
                cli_error("tear", "cannot write %s", junit);
                status = 1;
            }
        }
    }
    fflush(stdout);
    tear_campaign_free(&tc);
    return status;
}
