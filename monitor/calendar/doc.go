// Package calendar counts mainland China business days (工作日) on the State
// Council's published holiday schedules, and on the statutory holidays alone,
// flagged as provisional, for years whose schedule is not loaded. The
// schedules come from two official sources, the embedded holiday-cn files
// (data/) and lunar-go's table (lunargo.go), under the operator's extra
// files; source.go says which one counts for each year.
//
// # Business days
//
// A review is counted in business days: Monday to Friday, less the public
// holidays, plus the 调休 makeup workdays, Saturdays or Sundays worked to
// bridge a holiday (Tencent Cloud: "工作日不包含法定节假日和周末"). Which days
// those are, the State Council's General Office publishes each year in a
// notice, usually in early November for the next year: for 2025
// https://www.gov.cn/zhengce/zhengceku/202411/content_6986383.htm, for 2026
// https://www.gov.cn/zhengce/zhengceku/202511/content_7047091.htm. 2026, for
// example, works Sunday 01-04, Saturdays 02-14, 02-28, 05-09 and 10-10 and
// Sunday 09-20.
//
// # The sources
//
//   - NateScarlet/holiday-cn (https://github.com/NateScarlet/holiday-cn)
//     scrapes the notices from gov.cn daily into {year}.json files,
//     days[].isOffDay false marking a makeup workday; data/README.md says
//     which commit is embedded. Its 2027.json was still empty then.
//   - 6tail/lunar-go (https://github.com/6tail/lunar-go) carries the
//     notices in HolidayUtil's table (18-character records: date, name
//     index, 0 work or 1 off, target date), from 2002; v1.4.7 (2026-11-06)
//     added 2027, v1.4.6 (2025-11-05) did not have it. Its releases have
//     followed each notice within days. Where both sources hold a year they
//     agree on every business day (2019–2026), which TestOfficialSourcesAgree
//     holds them to.
//   - Without a notice, the statutory holidays of 《全国年节及纪念日放假办法》
//     as in force that year (statutory.go; its 2024 revision, in force from
//     2025, added 除夕 and 5月2日). The makeup workdays cannot be known, so
//     such years are provisional.
//
// Provinces may add holidays of their own (Guangxi's 三月三, for one);
// whether the communications administrations stop work on them is not
// known, and the calendar counts the national schedule only.
package calendar
