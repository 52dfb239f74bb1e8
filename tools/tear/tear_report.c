/*
 * tear_report.c — a tearing campaign's report as text, JSON (jansson) and
 * JUnit XML (one testcase per writing command, a failure per torn one), so
 * that a lab's CI can gate on it. The formats are documented in
 * docs/tearing.md.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tear_run.h"

static const tear_line *line_of(const tear_campaign *tc, const tear_command *c) { return &tc->lines[c->line]; }

/* The line's text without leading blanks and the expectation. */
static void command_text(const tear_line *l, char *out, size_t cap)
{
    const char *t = l->text;
    while (*t == ' ' || *t == '\t') t++;
    snprintf(out, cap, "%s", t);
    char *arrow = strstr(out, "->");
    if (arrow) *arrow = 0;
    size_t n = strlen(out);
    while (n && (out[n - 1] == ' ' || out[n - 1] == '\t' || out[n - 1] == '\r')) out[--n] = 0;
}

/* The APDU of a `send` line (hex, blanks removed), "" for other commands. */
static void command_apdu(const tear_line *l, char *out, size_t cap)
{
    char text[1024];
    command_text(l, text, sizeof text);
    out[0] = 0;
    if (strncmp(text, "send", 4) || (text[4] != ' ' && text[4] != '\t'))
        return;
    size_t n = 0;
    for (const char *p = text + 4; *p && n + 1 < cap; p++)
        if (*p != ' ' && *p != '\t') out[n++] = *p;
    out[n] = 0;
}

static void aid_hex(const tear_writer *w, char *out)
{
    out[0] = 0;
    for (unsigned i = 0; i < w->pkg_aid_len; i++)
        sprintf(out + 2 * i, "%02X", w->pkg_aid[i]);
}

static void writer_text(const tear_writer *w, FILE *f)
{
    if (!w->known) {
        fprintf(f, "not a bytecode store (JCRE or allocation), transaction depth %u", w->tx_depth);
        return;
    }
    char aid[33];
    aid_hex(w, aid);
    fprintf(f, "package %s method 0x%04X pc 0x%04X", aid, w->method, w->pc);
    if (w->source_line >= 0)
        fprintf(f, " (%s:%d)", w->source_file ? w->source_file : "line", w->source_line);
    fprintf(f, ", transaction depth %u", w->tx_depth);
}

void tear_report_text(const tear_campaign *tc, FILE *f)
{
    size_t torn = tear_campaign_torn(tc);
    unsigned n_writing = 0;
    for (size_t i = 0; i < tc->n_cmds; i++)
        n_writing += !tc->cmds[i].reset_point;
    fprintf(f, "%s on %s: %u writing command%s, %llu cut point%s, %zu torn state%s\n", tc->script_file,
            tc->image_file, n_writing, n_writing == 1 ? "" : "s", (unsigned long long)tc->points,
            tc->points == 1 ? "" : "s", torn, torn == 1 ? "" : "s");
    for (size_t i = 0; i < tc->n_cmds; i++) {
        const tear_command *c = &tc->cmds[i];
        const tear_line *l = line_of(tc, c);
        char text[1024];
        command_text(l, text, sizeof text);
        if (c->reset_point)
            fprintf(f, "%s:%u: reset after `%s`: %s\n", tc->script_file, l->lineno, text,
                    c->n_states ? "TORN" : c->n_before ? "block's before-state" : "block's after-state");
        else
            fprintf(f, "%s:%u: %s: %u writes, %u cut points: %u before-state, %u after-state, %u other%s\n",
                    tc->script_file, l->lineno, text, c->writes, c->n_points, c->n_before, c->n_after, c->n_other,
                    c->n_states ? "  TORN" : "");
        for (size_t s = 0; s < c->n_states; s++) {
            const tear_state *st = &c->states[s];
            fprintf(f, "  torn state %zu: checks answer %s\n", s + 1, st->answers);
            fprintf(f, "    before-state: %s\n    after-state:  %s\n", c->before, c->after);
            for (size_t p = 0; p < st->n_points; p++) {
                if (c->reset_point) {
                    fprintf(f, "    reached by a reset after this command\n");
                    continue;
                }
                fprintf(f, "    cut after write %u of %u: ", st->points[p], c->writes);
                writer_text(&st->writers[p], f);
                fputc('\n', f);
            }
        }
    }
    if (tc->seconds > 0)
        fprintf(f, "%llu card runs in %.2f s (%.1f cut points/s)\n", (unsigned long long)tc->runs, tc->seconds,
                (double)tc->points / tc->seconds);
}

static json_t *writer_json(const tear_writer *w)
{
    if (!w->known)
        return json_pack("{s:b, s:i}", "bytecode", 0, "transaction_depth", (int)w->tx_depth);
    char aid[33];
    aid_hex(w, aid);
    return json_pack("{s:b, s:s, s:i, s:i, s:o, s:o, s:i}", "bytecode", 1, "package", aid, "method",
                     (int)w->method, "pc", (int)w->pc, "source_file",
                     w->source_file ? json_string(w->source_file) : json_null(), "source_line",
                     w->source_line >= 0 ? json_integer(w->source_line) : json_null(), "transaction_depth",
                     (int)w->tx_depth);
}

int tear_report_json(const tear_campaign *tc, FILE *f)
{
    json_t *root = json_object(), *cmds = json_array();
    if (!root || !cmds)
        return -1;
    size_t torn_points = 0;
    for (size_t i = 0; i < tc->n_cmds; i++) {
        const tear_command *c = &tc->cmds[i];
        const tear_line *l = line_of(tc, c);
        char text[1024], apdu[1024];
        command_text(l, text, sizeof text);
        command_apdu(l, apdu, sizeof apdu);
        json_t *states = json_array();
        for (size_t s = 0; s < c->n_states; s++) {
            const tear_state *st = &c->states[s];
            json_t *points = json_array(), *writers = json_array();
            for (size_t p = 0; p < st->n_points; p++) {
                if (!c->reset_point) {
                    json_array_append_new(points, json_integer(st->points[p]));
                    json_t *w = writer_json(&st->writers[p]);
                    json_object_set_new(w, "write", json_integer(st->points[p]));
                    json_array_append_new(writers, w);
                }
            }
            torn_points += st->n_points;
            json_array_append_new(states, json_pack("{s:s, s:o, s:o}", "checks", st->answers, "cut_points", points,
                                                    "writers", writers));
        }
        json_t *o = json_pack("{s:s, s:i, s:s, s:o, s:i, s:i, s:i, s:i, s:i, s:b, s:s, s:s, s:o}", "kind",
                              c->reset_point ? "reset" : "cut", "line", (int)l->lineno, "command", text, "apdu",
                              apdu[0] ? json_string(apdu) : json_null(), "writes", (int)c->writes, "cut_points",
                              (int)c->n_points, "before", (int)c->n_before, "after", (int)c->n_after, "other",
                              (int)c->n_other, "torn", c->n_states > 0, "before_state", c->before, "after_state",
                              c->after, "states", states);
        if (!o)
            return -1;
        json_array_append_new(cmds, o);
    }
    json_object_set_new(root, "script", json_string(tc->script_file));
    json_object_set_new(root, "image", json_string(tc->image_file));
    json_object_set_new(root, "torn", json_integer((json_int_t)tear_campaign_torn(tc)));
    json_object_set_new(root, "torn_cut_points", json_integer((json_int_t)torn_points));
    json_object_set_new(root, "cut_points", json_integer((json_int_t)tc->points));
    json_object_set_new(root, "card_runs", json_integer((json_int_t)tc->runs));
    json_object_set_new(root, "seconds", json_real(tc->seconds));
    json_object_set_new(root, "commands", cmds);
    int rc = json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', f);
    json_decref(root);
    return rc;
}

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

int tear_report_junit(const tear_campaign *tc, FILE *f)
{
    size_t failures = 0;
    for (size_t i = 0; i < tc->n_cmds; i++)
        failures += tc->cmds[i].n_states > 0;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<testsuites>\n<testsuite name=\"cardvm tear ");
    xml_text(f, tc->script_file);
    fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" time=\"%.3f\">\n", tc->n_cmds, failures, tc->seconds);
    for (size_t i = 0; i < tc->n_cmds; i++) {
        const tear_command *c = &tc->cmds[i];
        const tear_line *l = line_of(tc, c);
        char text[1024];
        command_text(l, text, sizeof text);
        fprintf(f, "  <testcase classname=\"tear\" name=\"");
        fprintf(f, "line %u: %s", l->lineno, c->reset_point ? "reset after " : "");
        xml_text(f, text);
        fprintf(f, "\">");
        if (c->n_states) {
            fprintf(f, "\n    <failure message=\"%zu torn state%s\">", c->n_states, c->n_states == 1 ? "" : "s");
            for (size_t s = 0; s < c->n_states; s++) {
                const tear_state *st = &c->states[s];
                fprintf(f, "torn state %zu: checks answer ", s + 1);
                xml_text(f, st->answers);
                fputc('\n', f);
                for (size_t p = 0; p < st->n_points && !c->reset_point; p++) {
                    fprintf(f, "cut after write %u of %u: ", st->points[p], c->writes);
                    writer_text(&st->writers[p], f);
                    fputc('\n', f);
                }
            }
            fprintf(f, "</failure>\n  ");
        }
        fprintf(f, "</testcase>\n");
    }
    fprintf(f, "</testsuite>\n</testsuites>\n");
    return ferror(f) ? -1 : 0;
}
