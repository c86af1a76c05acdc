// Package htmlpage is a provider for any public query page whose results are
// an HTML table, configured only by CSS selectors (query.html in
// deploy/icpmon.yml, README "Configuration"): third-party mirrors such as
// beianx.cn, or MIIT itself once its protocol moves again.
//
// It is honest by construction: "no record" needs the page's own no-record
// element inside the result container (never text found anywhere, such as a
// <title>); rows without a licence, or a page with neither rows nor the
// marker (a redesign, a login wall, a challenge), are unparseable. A list of
// rows is complete only when the page states a total (TotalSelector) and
// every page, followed through NextSelector, adds up to it.
//
// Third-party sources cache MIIT and lag behind cancellations: users report
// records still shown after they were changed or deleted
// (yuedanlabs/icp-query-extension #15), wrong results from beianx-based tools
// (A10ha/ICPSearch #1), and a dead third-party API reporting filed domains as
// unfiled (dromara/domain-admin #191). The query job decides how far to
// trust them. The layouts the tests imitate (testdata/README.md), as public
// scrapers read them:
//   - beianx.cn, GET https://www.beianx.cn/search/{domain|company|licence}:
//     a server-rendered table, rows "table tbody tr", td[3] the licence,
//     td[5] the home page ("div a"), td[6] the approval date ("div"); it
//     needs a machine_str cookie and sits behind an Alibaba Cloud WAF
//     challenge (package antibot). Its no-record marker is not documented:
//     tools treat "no rows" as none, which this package refuses.
//   - icp.chinaz.com/{domain} (the older server-rendered page): "#first > li"
//     with the licence in "p > font"; a page without a record says
//     未备案或备案取消; "使用该功能需要用户登录" is a login wall.
package htmlpage
