/* Unit tests of gateway/repair/calendar.c: working days of config/calendar-cn.yaml and repair deadlines.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "gateway/repair/calendar.h"

#define CAL "config/calendar-cn.yaml"

static crgw_calendar *cal;

static void setup(void)
{
    char err[256] = "";
    int rc = crgw_calendar_load(CAL, &cal, err, sizeof(err));
    cr_assert_eq(rc, 0, "calendar load: %s", err);
}

static void teardown(void)
{
    crgw_calendar_free(cal);
    cal = NULL;
}

static int32_t D(const char *s)
{
    int32_t d;
    cr_assert_eq(crgw_date_parse_day(s, strlen(s), &d), 0, "bad test date %s", s);
    return d;
}

static void expect_day(int32_t got, const char *want)
{
    char s[11];
    crgw_date_format_day(got, s);
    cr_assert_str_eq(s, want);
}

TestSuite(calendar, .init = setup, .fini = teardown);

Test(calendar, civil_round_trip)
{
    cr_assert_eq(crgw_days_from_civil(1970, 1, 1), 0);
    cr_assert_eq(crgw_days_from_civil(2000, 3, 1), 11017);
    for (int32_t d = -1000; d < 40000; d += 37) {
        int y, m, dd;
        crgw_civil_from_days(d, &y, &m, &dd);
        cr_assert_eq(crgw_days_from_civil(y, m, dd), d);
    }
    int32_t x;
    cr_assert_eq(crgw_date_parse_day("2025-02-29", 10, &x), -1);
    cr_assert_eq(crgw_date_parse_day("2024-02-29", 10, &x), 0);
    cr_assert_eq(crgw_date_parse_day("2024-2-29", 9, &x), -1);
}

Test(calendar, rfc3339_day_is_beijing_day)
{
    int32_t d;
    cr_assert_eq(crgw_day_of_rfc3339("2026-11-23T10:00:00+08:00", &d), 0);
    expect_day(d, "2026-11-23");
    /* 17:30 UTC is 01:30 the next day in Beijing. */
    cr_assert_eq(crgw_day_of_rfc3339("2026-11-22T17:30:00Z", &d), 0);
    expect_day(d, "2026-11-23");
    cr_assert_eq(crgw_day_of_rfc3339("2026-11-22T23:59:59.123+08:00", &d), 0);
    expect_day(d, "2026-11-22");
    cr_assert_eq(crgw_day_of_rfc3339("2026-11-22 10:00:00+08:00", &d), -1);
    cr_assert_eq(crgw_day_of_rfc3339("2026-11-22T10:00:00", &d), -1);
    cr_assert_eq(crgw_day_of_rfc3339("2026-11-22T10:00:00+8:00", &d), -1);
}

Test(calendar, workdays_of_the_notices)
{
    /* An ordinary Monday and Saturday. */
    cr_assert(crgw_calendar_is_workday(cal, D("2026-11-23")));
    cr_assert_not(crgw_calendar_is_workday(cal, D("2026-11-21")));
    /* National Day week 2025: holidays on weekdays, adjusted working Sunday and Saturday. */
    cr_assert_not(crgw_calendar_is_workday(cal, D("2025-10-01")));
    cr_assert_not(crgw_calendar_is_workday(cal, D("2025-10-08")));
    cr_assert(crgw_calendar_is_workday(cal, D("2025-09-28")));
    cr_assert(crgw_calendar_is_workday(cal, D("2025-10-11")));
    cr_assert(crgw_calendar_is_workday(cal, D("2026-02-14")));
    cr_assert_not(crgw_calendar_is_workday(cal, D("2026-02-23")));
    cr_assert_eq(crgw_calendar_covers(cal, 2025), 1);
    cr_assert_eq(crgw_calendar_covers(cal, 2027), 2);
    cr_assert_eq(crgw_calendar_covers(cal, 2030), 0);
}

/* Filed the day before the National Day week 2025 (Tuesday 30 September). */
Test(calendar, holiday_week_and_adjusted_saturday)
{
    crgw_repair_deadlines d;
    crgw_repair_deadlines_compute(cal, D("2025-09-30"), -1, 0, &d);
    /* 1-8 Oct holidays; Thu 9 (1), Fri 10 (2), Sat 11 adjusted working day (3). */
    expect_day(d.accept_by, "2025-10-11");
    cr_assert_eq(d.decide_by, -1);
    /* 9, 10, 11, 13, 14, 15, 16, 17, 20, 21 */
    expect_day(d.overall_by, "2025-10-21");
    /* Accepted on Saturday 11 October (a working day): 7 working days from Monday 13. */
    crgw_repair_deadlines_compute(cal, D("2025-09-30"), D("2025-10-11"), 0, &d);
    expect_day(d.decide_by, "2025-10-21");
}

/* Spring Festival 2026: Saturday 14 February works, 15-23 February off. */
Test(calendar, spring_festival_2026)
{
    crgw_repair_deadlines d;
    crgw_repair_deadlines_compute(cal, D("2026-02-13"), -1, 0, &d);
    /* Sat 14 (1), Tue 24 (2), Wed 25 (3). */
    expect_day(d.accept_by, "2026-02-25");
    /* 14, 24, 25, 26, 27, Sat 28 (adjusted), Mar 2, 3, 4, 5 */
    expect_day(d.overall_by, "2026-03-05");
}

Test(calendar, extension_adds_ten_working_days)
{
    crgw_repair_deadlines d, e;
    /* Filed Monday 2026-09-21; Mid-Autumn 25-27 Sep, National Day 1-7 Oct, Sat 10 Oct works. */
    crgw_repair_deadlines_compute(cal, D("2026-09-21"), D("2026-09-22"), 0, &d);
    crgw_repair_deadlines_compute(cal, D("2026-09-21"), D("2026-09-22"), 1, &e);
    expect_day(d.accept_by, "2026-09-24");
    expect_day(e.accept_by, "2026-09-24"); /* the extension does not move acceptance */
    /* 23, 24, 28, 29, 30, Oct 8, 9 */
    expect_day(d.decide_by, "2026-10-09");
    /* + Sat 10, 12, 13, 14, 15, 16, 19, 20, 21, 22 */
    expect_day(e.decide_by, "2026-10-22");
    /* overall: 22 23 24 28 29 30 8 9 10 12 -> 12 Oct; extended: +13..16, 19..23, 26 -> 26 Oct */
    expect_day(d.overall_by, "2026-10-12");
    expect_day(e.overall_by, "2026-10-26");
}

Test(calendar, overdue)
{
    crgw_repair_deadlines d;
    crgw_repair_deadlines_compute(cal, D("2025-09-30"), -1, 0, &d);
    cr_assert_not(crgw_repair_overdue(&d, "delivered", D("2025-10-11")));
    cr_assert(crgw_repair_overdue(&d, "delivered", D("2025-10-12")));
    cr_assert_not(crgw_repair_overdue(&d, "refused", D("2025-12-12")));
    crgw_repair_deadlines_compute(cal, D("2025-09-30"), D("2025-10-09"), 0, &d);
    cr_assert_not(crgw_repair_overdue(&d, "accepted", D("2025-10-17")));
    cr_assert(crgw_repair_overdue(&d, "accepted", D("2025-10-21")));
    cr_assert_not(crgw_repair_overdue(&d, "repaired", D("2026-10-21")));
}

Test(calendar, broken_files_are_refused)
{
    const char *cases[][2] = {
        {"years:\n  2025:\n    holidays: [2025-02-30]\n", "line 3: bad date"},
        {"years:\n  2025:\n    holidays: [2026-01-01]\n", "line 3: '2026-01-01' is not in year"},
        {"years:\n  2025:\n    holidays: [2025-01-05..2025-01-01]\n", "line 3: bad date range"},
        {"years:\n  2025:\n    workdays: [2025-01-01..2025-01-02]\n", "line 3: bad date range"},
        {"years:\n  2025:\n    holiday: []\n", "line 3: unknown key 'holiday'"},
        {"years:\n  2025:\n    holidays: [2025-01-01]\n    workdays: [2025-01-01]\n",
         "both a holiday and a workday"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[] = "/tmp/crgw-cal-XXXXXX";
        int fd = mkstemp(path);
        cr_assert(fd >= 0);
        FILE *f = fdopen(fd, "w");
        fputs(cases[i][0], f);
        fclose(f);
        crgw_calendar *c = NULL;
        char err[256] = "";
        int rc = crgw_calendar_load(path, &c, err, sizeof(err));
        remove(path);
        cr_assert_eq(rc, CRGW_ERR_INVALID, "case %zu must fail", i);
        cr_assert_null(c);
        cr_assert(strstr(err, cases[i][1]) != NULL, "case %zu: '%s' lacks '%s'", i, err,
                  cases[i][1]);
    }
}
