package statuspage

import (
	"fmt"
	"net/http"

	"golang.org/x/text/language"
)

// The pages speak English, or Chinese when the browser prefers it. Matching
// on the base language lets zh-CN, zh-TW and plain zh all read the Chinese
// labels (written in simplified characters).
var (
	languages = []language.Tag{language.English, language.Chinese}
	matcher   = language.NewMatcher(languages)
)

// locale is the language of one answer: the templates call T for every
// label, the Go code for every phrase it composes.
type locale struct {
	zh bool
}

// localeOf picks the language from the request's Accept-Language header.
func localeOf(r *http.Request) locale {
	_, i := language.MatchStrings(matcher, r.Header.Get("Accept-Language"))
	return locale{zh: languages[i] == language.Chinese}
}

// L is the locale itself, for templates to hand on.
func (l locale) L() locale { return l }

// Lang is the value of <html lang>.
func (l locale) Lang() string {
	if l.zh {
		return "zh-CN"
	}
	return "en"
}

// T translates en, an English label or fmt format, and fills in args. A
// phrase missing from the catalogue shows in English rather than not at
// all; TestCatalogueCoversEveryPhrase keeps the catalogue complete.
func (l locale) T(en string, args ...any) string {
	s := en
	if zh, ok := chinese[en]; ok && l.zh {
		s = zh
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// chinese is the catalogue: English phrase (or format) to Chinese.
var chinese = map[string]string{
	// Both pages.
	"ICP filing cancellations: review deadlines in business days, public-query records, website reachability.": "ICP 备案注销：以工作日计的审核期限、公共查询的备案记录、网站可访问性。",
	"Metrics":      "指标",
	"Readiness":    "就绪",
	"Health":       "健康",
	"Status page":  "状态页",
	"Download CSV": "下载 CSV",

	// Kinds, statuses and record states.
	"subject":   "注销主体",
	"website":   "注销网站",
	"access":    "取消接入",
	"pending":   "审核中",
	"approved":  "已通过",
	"cleared":   "已清除",
	"rejected":  "已驳回",
	"withdrawn": "已撤回",
	"present":   "有记录",
	"absent":    "无记录",
	"unknown":   "未知",

	// The list page.
	"Status":                                 "状态",
	"Redis":                                  "Redis",
	"key prefix %s":                          "键前缀 %s",
	"ready":                                  "就绪",
	"not ready: %s":                          "未就绪：%s",
	"calendar covered until":                 "日历覆盖至",
	"calendar sources":                       "日历来源",
	"Jobs":                                   "任务",
	"job":                                    "任务",
	"schedule":                               "计划",
	"last run":                               "上次运行",
	"took":                                   "耗时",
	"outcome":                                "结果",
	"last success":                           "上次成功",
	"next run":                               "下次运行",
	"not yet":                                "尚未运行",
	"ok":                                     "成功",
	"Tracked cancellations":                  "跟踪的注销",
	"As of %s.":                              "截至 %s。",
	"status":                                 "状态",
	"kind":                                   "类型",
	"any":                                    "全部",
	"overdue only":                           "仅超期",
	"deadline within":                        "期限在",
	"business days elapsed":                  "已过工作日",
	"business days":                          "个工作日内",
	"licence or domain":                      "备案号或域名",
	"Filter":                                 "筛选",
	"Clear filters":                          "清除筛选",
	"%d of %d match.":                        "%d / %d 条符合。",
	"The first %d shown, most urgent first.": "显示最紧急的前 %d 条。",
	"All shown, most urgent first.":          "全部显示，最紧急的在前。",
	"Nothing matches these filters.":         "没有符合筛选条件的注销。",
	"licence":                                "备案号",
	"domains":                                "域名",
	"submitted":                              "提交日期",
	"review deadline":                        "审核期限",
	"approved at":                            "通过时间",
	"record":                                 "备案记录",
	"latest probes":                          "最近探测",
	"id":                                     "ID",
	"(overdue)":                              "（已超期）",
	"provisional: a year's holiday schedule is not loaded":                                                               "暂定：某年的节假日安排尚未载入",
	"Nothing tracked. Add a cancellation with “icpmon track add”.":                                                       "尚未跟踪任何注销。用 “icpmon track add” 添加。",
	"No snapshot yet: the review job has not read the store successfully.":                                               "尚无快照：尚未成功读取存储。",
	"The list holds pending and approved cancellations, and cleared ones for a while; “icpmon track list” has them all.": "列表包括审核中和已通过的注销，以及近期已清除的注销；“icpmon track list” 列出全部。",
	"%d of %d business days":   "已过 %d / %d 个工作日",
	"%s 24:00 CST":             "%s 24:00（北京时间）",
	"%s (%s)":                  "%s（%s）",
	"operator":                 "操作员",
	"inferred":                 "推断",
	"%s://%s %s at %s":         "%s://%s %s，%s",
	"unknown (%s at %s)":       "未知（%s，%s）",
	"not looked up yet":        "尚未查询",
	"present at %s":            "有记录，%s",
	"absent at %s (%d sweeps)": "无记录，%s（%d 轮）",

	// Bad filters.
	"Bad filter: %s":                  "筛选条件有误：%s",
	"unknown status %q":               "未知状态 %q",
	"unknown kind %q":                 "未知类型 %q",
	"overdue is 1 or nothing, not %q": "overdue 只能是 1 或留空，而不是 %q",
	"due is a number of business days from 0 to %d, not %q": "due 应为 0 到 %d 之间的工作日数，而不是 %q",
	"the search text is longer than %d characters":          "搜索文本超过 %d 个字符",

	// The cancellation page.
	"Cancellation %s":                     "注销 %s",
	"Facts":                               "基本信息",
	"ID":                                  "ID",
	"Kind":                                "类型",
	"Licence":                             "备案号",
	"as typed: %s":                        "录入为：%s",
	"Province":                            "省份",
	"Unit (from the public query)":        "主办单位（公共查询所示）",
	"Domains":                             "域名",
	"Submitted":                           "提交日期",
	"Review":                              "审核",
	"%d of %d business days; deadline %s": "已过 %d / %d 个工作日；期限 %s",
	"Approved":                            "通过",
	"%s, %s":                              "%s，%s",
	"recorded by an operator":             "由操作员记录",
	"inferred from the public query":      "根据公共查询推断",
	"Cleared":                             "清除",
	"Note":                                "备注",
	"Created":                             "创建",
	"Updated":                             "更新",
	"%s (version %d)":                     "%s（版本 %d）",
	"Verdicts and their evidence":         "结论及依据",
	"Latest probes":                       "最近探测",
	"Probe history":                       "探测历史",
	"No probe yet: websites are probed after approval.": "尚无探测：网站在注销通过后才会被探测。",
	"domain":                          "域名",
	"scheme":                          "协议",
	"result":                          "结果",
	"HTTP status":                     "HTTP 状态",
	"at":                              "时间",
	"detail":                          "详情",
	"from":                            "从",
	"to":                              "到",
	"times":                           "次数",
	"local error":                     "本地错误",
	"Lookups":                         "查询",
	"last definite lookup":            "上次确定的查询",
	"provider":                        "查询方式",
	"records returned":                "返回的记录",
	"absent sweeps":                   "无记录轮数",
	"first absent":                    "首次无记录",
	"last lookup that proved nothing": "上次未能证明任何事的查询",
	"reason":                          "原因",
	"Lookup log":                      "查询记录",
	"History":                         "历史",
	"actor":                           "操作者",
	"action":                          "操作",
	"change":                          "变更",
	"No such cancellation":            "没有这个注销",
	"No cancellation has the ID %q.":  "没有 ID 为 %q 的注销。",
	"Cannot read the store":           "无法读取存储",
	"Cancellation %s was removed on %s by %s.": "注销 %s 已于 %s 被 %s 删除。",

	// Verdicts.
	"Overdue": "已超期",
	"The review deadline was the end of business day %d after submission on %s: %s. %d business days have passed.": "审核期限为提交日 %[2]s 后第 %[1]d 个工作日结束时：%[3]s。已过 %[4]d 个工作日。",
	"Under review": "审核中",
	"%d business days left: the deadline is the end of business day %d after submission on %s, %s.": "剩余 %[1]d 个工作日：期限为提交日 %[3]s 后第 %[2]d 个工作日结束时，%[4]s。",
	"The limit is %d business days for province %s (review.province_limits).":                       "%[2]s 的审核时限为 %[1]d 个工作日（review.province_limits）。",
	"The deadline is provisional: the holiday schedule of %v is not loaded.":                        "期限为暂定：%v 年的节假日安排尚未载入。",
	"Approved by an operator":                               "操作员记录通过",
	"Approval inferred from the public query":               "根据公共查询推断已通过",
	"Approval recorded %s: %s":                              "%s 记录通过：%s",
	"approved on %s, recorded %s":                           "通过日期 %s，记录于 %s",
	"Record cleared":                                        "备案记录已清除",
	"Cleared %s: %s":                                        "%s 清除：%s",
	"Record present":                                        "备案记录仍存在",
	"The last definite lookup, %s through %s, returned %s.": "上次确定的查询（%s，%s）返回了 %s。",
	"Record lingering":                                      "备案记录滞留",
	"Still present after the linger deadline %s (query.linger_business_days after approval).": "超过滞留期限 %s（通过后 query.linger_business_days 个工作日）仍存在。",
	"Record absent": "无备案记录",
	"No record in %d sweeps since %s; last lookup %s through %s.": "自 %[2]s 起 %[1]d 轮查询无记录；上次查询 %[3]s，%[4]s。",
	"Record unknown":                           "备案记录未知",
	"No lookup has proved anything yet.":       "尚无查询能证明任何事。",
	"The last lookup, %s, proved nothing: %s.": "上次查询（%s）未能证明任何事：%s。",
	"Access cancelled: the MIIT record stays by design, so its presence or absence proves nothing here.": "取消接入：工信部备案记录按规定保留，其有无在此不说明任何事。",
	"Website served": "网站仍可访问",
	"%s://%s answered %s at %s, after the grace ended %s (approval + reach.grace %s).": "%s://%s 于 %[4]s 返回 %[3]s，已过宽限期 %[5]s（通过 + reach.grace %[6]s）。",
	"Website not served":      "网站不可访问",
	"%s://%s: %s at %s.":      "%s://%s：%s，%s。",
	"Served within the grace": "宽限期内可访问",
	"%s://%s answered %s at %s, before the grace ended %s.": "%s://%s 于 %[4]s 返回 %[3]s，尚在宽限期内（至 %[5]s）。",
	"Probe failed on this host":                             "探测在本机失败",
	"%s://%s: %s at %s proves nothing about the site.":      "%s://%s：%s（%s）不说明网站的任何情况。",
}
